from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.images import ImageKind
from backend.models.incidents import IncidentStatus, IncidentType, Severity, TimelineKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_parcels_and_push_notices')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Incident',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='incidents', on_delete=OnDelete.RESTRICT)),
                ('zone', fields.ForeignKeyField('models.Zone', source_field='zone_id', null=True, db_constraint=True, to_field='id', related_name='incidents', on_delete=OnDelete.SET_NULL)),
                ('checkpoint', fields.ForeignKeyField('models.Checkpoint', source_field='checkpoint_id', null=True, db_constraint=True, to_field='id', related_name='incidents', on_delete=OnDelete.SET_NULL)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('place', fields.CharField(default='', max_length=200)),
                ('type', fields.CharEnumField(description='suspicious_person: suspicious_person\ntheft: theft\ndamage: damage\nfire_hazard: fire_hazard\nfacility_fault: facility_fault\nnoise_complaint: noise_complaint\nmedical: medical\nother: other', enum_type=IncidentType, max_length=24)),
                ('severity', fields.CharEnumField(description='low: low\nmedium: medium\nhigh: high\ncritical: critical', enum_type=Severity, max_length=8)),
                ('status', fields.CharEnumField(default=IncidentStatus.open, description='open: open\nassigned: assigned\nresolved: resolved\nclosed: closed', enum_type=IncidentStatus, max_length=10)),
                ('description', fields.TextField(unique=False)),
                ('reporter', fields.ForeignKeyField('models.User', source_field='reporter_id', db_constraint=True, to_field='id', related_name='reported_incidents', on_delete=OnDelete.RESTRICT)),
                ('device_id', fields.IntField(null=True)),
                ('assignee', fields.ForeignKeyField('models.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='assigned_incidents', on_delete=OnDelete.RESTRICT)),
                ('reported_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'incidents', 'app': 'models', 'indexes': [Index(fields=['site_id', 'reported_at']), Index(fields=['site_id', 'status', 'severity'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Media',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('kind', fields.CharEnumField(description='jpeg: jpeg\npng: png\nwebp: webp\nheic: heic', enum_type=ImageKind, max_length=8)),
                ('size', fields.BigIntField()),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('display_width', fields.IntField()),
                ('display_height', fields.IntField()),
                ('thumb_width', fields.IntField()),
                ('thumb_height', fields.IntField()),
                ('uploaded_by', fields.ForeignKeyField('models.User', source_field='uploaded_by_id', db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.RESTRICT)),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'media', 'app': 'models', 'pk_attr': 'sha256'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IncidentPhoto',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('incident', fields.ForeignKeyField('models.Incident', source_field='incident_id', db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.RESTRICT)),
                ('media', fields.ForeignKeyField('models.Media', source_field='media_id', db_constraint=True, to_field='sha256', related_name='incident_photos', on_delete=OnDelete.RESTRICT)),
                ('position', fields.IntField()),
                ('added_by', fields.ForeignKeyField('models.User', source_field='added_by_id', db_constraint=True, to_field='id', related_name='incident_photos', on_delete=OnDelete.RESTRICT)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'incident_photos', 'app': 'models', 'unique_together': (('incident', 'media'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MediaUpload',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('media', fields.ForeignKeyField('models.Media', source_field='media_id', db_constraint=True, to_field='sha256', related_name='uploads', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='media_uploads', on_delete=OnDelete.RESTRICT)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'media_uploads', 'app': 'models', 'unique_together': (('media', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TimelineEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('incident', fields.ForeignKeyField('models.Incident', source_field='incident_id', db_constraint=True, to_field='id', related_name='timeline', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='reported: reported\ncomment: comment\nassigned: assigned\nphotos_added: photos_added\nresolved: resolved\nclosed: closed\nreopened: reopened', enum_type=TimelineKind, max_length=16)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', db_constraint=True, to_field='id', related_name='incident_timeline', on_delete=OnDelete.RESTRICT)),
                ('device_id', fields.IntField(null=True)),
                ('text', fields.TextField(default='', unique=False)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('client_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'incident_timeline', 'app': 'models', 'indexes': [Index(fields=['incident_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
