from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.patrol import ReviewStatus, ScanMethod, Verdict
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_patrol_checkpoints_and_tags')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Scan',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='scans', on_delete=OnDelete.RESTRICT)),
                ('checkpoint', fields.ForeignKeyField('models.Checkpoint', source_field='checkpoint_id', null=True, db_constraint=True, to_field='id', related_name='scans', on_delete=OnDelete.RESTRICT)),
                ('tag', fields.ForeignKeyField('models.Tag', source_field='tag_id', null=True, db_constraint=True, to_field='id', related_name='scans', on_delete=OnDelete.RESTRICT)),
                ('guard_id', fields.IntField(db_index=True)),
                ('device_id', fields.IntField(null=True)),
                ('method', fields.CharEnumField(description='qr: qr\nmanual: manual\nnfc: nfc\nnfc_sun: nfc_sun\nble: ble\ngps: gps', enum_type=ScanMethod, max_length=16)),
                ('reading', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('accuracy_m', fields.FloatField(null=True)),
                ('answers', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('client_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('server_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('clock_skew_seconds', fields.IntField(default=0)),
                ('verdict', fields.CharEnumField(description='valid: valid\nsuspicious: suspicious\nrejected: rejected', enum_type=Verdict, max_length=16)),
                ('reasons', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('review', fields.CharEnumField(default=ReviewStatus.none, description='none: none\npending: pending\naccepted: accepted\nrejected: rejected', enum_type=ReviewStatus, max_length=16)),
                ('reviewed_by_id', fields.IntField(null=True)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('review_note', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'scans', 'app': 'models', 'indexes': [Index(fields=['guard_id', 'client_time']), Index(fields=['site_id', 'review'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
