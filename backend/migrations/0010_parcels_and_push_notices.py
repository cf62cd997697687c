from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.notices import DeliveryStatus, NoticeUrgency
from backend.models.parcels import ParcelStatus, PickupMethod, ProofKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_gate_house')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.CASCADE)),
                ('site_id', fields.IntField(null=True)),
                ('kind', fields.CharField(max_length=48)),
                ('ref', fields.CharField(default='', max_length=80)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('urgency', fields.CharEnumField(default=NoticeUrgency.normal, description='very_low: very-low\nlow: low\nnormal: normal\nhigh: high', enum_type=NoticeUrgency, max_length=16)),
                ('ttl_seconds', fields.IntField()),
                ('topic', fields.CharField(default='', max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notices', 'app': 'models', 'indexes': [Index(fields=['user_id', 'created_at']), Index(fields=['ref'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NoticePreference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notice_preference', on_delete=OnDelete.CASCADE)),
                ('parcels', fields.BooleanField(default=True)),
                ('alerts', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice_preferences', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Parcel',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='parcels', on_delete=OnDelete.RESTRICT)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='parcels', on_delete=OnDelete.RESTRICT)),
                ('recipient', fields.ForeignKeyField('models.User', source_field='recipient_id', null=True, db_constraint=True, to_field='id', related_name='parcels', on_delete=OnDelete.SET_NULL)),
                ('recipient_name', fields.CharField(default='', max_length=120)),
                ('carrier', fields.CharField(default='', max_length=40)),
                ('tracking_number', fields.CharField(default='', db_index=True, max_length=64)),
                ('label_sha256', fields.CharField(null=True, max_length=64)),
                ('shelf', fields.CharField(default='', max_length=32)),
                ('perishable', fields.BooleanField(default=False)),
                ('fragile', fields.BooleanField(default=False)),
                ('oversized', fields.BooleanField(default=False)),
                ('note', fields.CharField(default='', max_length=500)),
                ('status', fields.CharEnumField(default=ParcelStatus.received, description='received: received\nnotified: notified\npicked_up: picked_up\nreturned: returned', enum_type=ParcelStatus, max_length=16)),
                ('code', fields.CharField(max_length=6)),
                ('active_code', fields.CharField(null=True, max_length=6)),
                ('received_by', fields.ForeignKeyField('models.User', source_field='received_by_id', db_constraint=True, to_field='id', related_name='parcels_received', on_delete=OnDelete.RESTRICT)),
                ('device_id', fields.IntField(null=True)),
                ('client_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminders', fields.IntField(default=0)),
                ('picked_up_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('handed_over_by_id', fields.IntField(null=True)),
                ('pickup_method', fields.CharEnumField(null=True, description='code: code\nqr: qr\noverride: override', enum_type=PickupMethod, max_length=16)),
                ('collected_by_name', fields.CharField(default='', max_length=120)),
                ('collector_photo_sha256', fields.CharField(null=True, max_length=64)),
                ('proof_sha256', fields.CharField(null=True, max_length=64)),
                ('proof_kind', fields.CharEnumField(null=True, description='photo: photo\nsignature: signature', enum_type=ProofKind, max_length=16)),
                ('returned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('returned_by_id', fields.IntField(null=True)),
                ('return_reason', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'parcels', 'app': 'models', 'unique_together': (('site', 'active_code'),), 'indexes': [Index(fields=['site_id', 'status', 'received_at']), Index(fields=['unit_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VapidKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_key', fields.CharField(unique=True, max_length=100)),
                ('private_key_sealed', fields.TextField(unique=False)),
                ('is_current', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'vapid_keys', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.CharField(unique=True, max_length=1024)),
                ('p256dh', fields.CharField(max_length=100)),
                ('auth', fields.CharField(max_length=32)),
                ('vapid_key', fields.ForeignKeyField('models.VapidKey', source_field='vapid_key_id', db_constraint=True, to_field='id', related_name='subscriptions', on_delete=OnDelete.RESTRICT)),
                ('user_agent', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_subscriptions', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NoticeDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('notice', fields.ForeignKeyField('models.Notice', source_field='notice_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('subscription', fields.ForeignKeyField('models.PushSubscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=DeliveryStatus.pending, description='pending: pending\ndelivered: delivered\ngone: gone\nfailed: failed\nexpired: expired', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.CharField(default='', max_length=255)),
                ('sent_by', fields.CharField(default='', max_length=40)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice_deliveries', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
