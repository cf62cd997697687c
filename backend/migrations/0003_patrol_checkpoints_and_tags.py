from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.patrol import TagKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_sync_and_duty_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Checkpoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='checkpoints', on_delete=OnDelete.RESTRICT)),
                ('zone', fields.ForeignKeyField('models.Zone', source_field='zone_id', null=True, db_constraint=True, to_field='id', related_name='checkpoints', on_delete=OnDelete.SET_NULL)),
                ('name', fields.CharField(max_length=120)),
                ('checklist', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('radius_m', fields.IntField(default=50)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'checkpoints', 'app': 'models', 'unique_together': (('site', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='tags', on_delete=OnDelete.RESTRICT)),
                ('checkpoint', fields.ForeignKeyField('models.Checkpoint', source_field='checkpoint_id', null=True, db_constraint=True, to_field='id', related_name='tags', on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharEnumField(description='qr: qr\nnfc_uid: nfc_uid\nnfc_sun: nfc_sun\nble_static: ble_static\nble_eid: ble_eid\ngps: gps', enum_type=TagKind, max_length=16)),
                ('identifier', fields.CharField(max_length=128)),
                ('label', fields.CharField(default='', max_length=120)),
                ('secret_sealed', fields.TextField(null=True, unique=False)),
                ('eid_rotation_exponent', fields.IntField(null=True)),
                ('eid_clock_offset', fields.BigIntField(null=True)),
                ('sun_counter', fields.IntField(default=-1)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tags', 'app': 'models', 'unique_together': (('kind', 'identifier'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
