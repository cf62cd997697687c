from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.patrol import RoundStatus, TourOrder
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_patrol_scans')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Tour',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='tours', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=120)),
                ('order', fields.CharEnumField(default=TourOrder.any, description='fixed: fixed\nany: any', enum_type=TourOrder, max_length=8)),
                ('days', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('start_time', fields.CharField(max_length=5)),
                ('end_time', fields.CharField(max_length=5)),
                ('every_minutes', fields.IntField()),
                ('window_minutes', fields.IntField()),
                ('min_spacing_seconds', fields.IntField(default=0)),
                ('stops', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tours', 'app': 'models', 'unique_together': (('site', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Round',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tour', fields.ForeignKeyField('models.Tour', source_field='tour_id', db_constraint=True, to_field='id', related_name='rounds', on_delete=OnDelete.RESTRICT)),
                ('site_id', fields.IntField()),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=RoundStatus.scheduled, description='scheduled: scheduled\nin_progress: in_progress\nended_early: ended_early\nclosed: closed', enum_type=RoundStatus, max_length=16)),
                ('guard_id', fields.IntField(null=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_reason', fields.CharField(default='', max_length=500)),
                ('stops', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'rounds', 'app': 'models', 'unique_together': (('tour', 'due_at'),), 'indexes': [Index(fields=['site_id', 'due_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
