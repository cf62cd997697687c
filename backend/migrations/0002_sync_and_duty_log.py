from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.duty_log import DutyCategory
from backend.models.sync import ChangeOp, MutationStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AppliedMutation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user_id', fields.IntField()),
                ('device_id', fields.IntField(null=True)),
                ('name', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(description='applied: applied\nrejected: rejected', enum_type=MutationStatus, max_length=16)),
                ('code', fields.CharField(default='', max_length=64)),
                ('result', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('client_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('server_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('clock_skew_seconds', fields.IntField(default=0)),
            ],
            options={'table': 'applied_mutations', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Change',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site_id', fields.IntField()),
                ('seq', fields.BigIntField()),
                ('entity', fields.CharField(max_length=32)),
                ('entity_id', fields.CharField(max_length=64)),
                ('op', fields.CharEnumField(description='upsert: upsert\ndelete: delete', enum_type=ChangeOp, max_length=8)),
                ('audience', fields.CharField(default='staff', max_length=32)),
                ('data', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'changes', 'app': 'models', 'unique_together': (('site_id', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DutyLogEntry',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='duty_log', on_delete=OnDelete.RESTRICT)),
                ('zone', fields.ForeignKeyField('models.Zone', source_field='zone_id', null=True, db_constraint=True, to_field='id', related_name='duty_log', on_delete=OnDelete.SET_NULL)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', db_constraint=True, to_field='id', related_name='duty_log', on_delete=OnDelete.RESTRICT)),
                ('device_id', fields.IntField(null=True)),
                ('category', fields.CharEnumField(description='routine: routine\npatrol: patrol\nvisitor: visitor\nincident: incident\nmaintenance: maintenance\nhandover: handover\nother: other', enum_type=DutyCategory, max_length=16)),
                ('text', fields.TextField(unique=False)),
                ('client_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('server_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'duty_log_entries', 'app': 'models', 'indexes': [Index(fields=['site_id', 'server_time'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SiteSequence',
            fields=[
                ('site_id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(default=0)),
                ('horizon', fields.BigIntField(default=0)),
            ],
            options={'table': 'site_sequences', 'app': 'models', 'pk_attr': 'site_id'},
            bases=['Model'],
        ),
    ]
