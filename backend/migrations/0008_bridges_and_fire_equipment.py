from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.bridge import BeaconKind, EventType
from backend.models.equipment import EquipmentType
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_scan_round')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Badge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='badges', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='badges', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='ibeacon: ibeacon\neddystone_uid: eddystone_uid\neddystone_eid: eddystone_eid\naddress: address', enum_type=BeaconKind, max_length=16)),
                ('identifier', fields.CharField(max_length=64)),
                ('label', fields.CharField(default='', max_length=120)),
                ('secret_sealed', fields.TextField(null=True, unique=False)),
                ('eid_rotation_exponent', fields.IntField(null=True)),
                ('eid_clock_offset', fields.BigIntField(null=True)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'badges', 'app': 'models', 'unique_together': (('kind', 'identifier'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BeaconEvent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='beacon_events', on_delete=OnDelete.CASCADE)),
                ('device_id', fields.IntField()),
                ('batch_id', fields.UUIDField()),
                ('equipment_id', fields.IntField(null=True)),
                ('badge_id', fields.IntField(null=True)),
                ('type', fields.CharEnumField(description='present: present\nmissing: missing\nlow_battery: low_battery\ntamper: tamper\nmotion: motion', enum_type=EventType, max_length=16)),
                ('kind', fields.CharEnumField(description='ibeacon: ibeacon\neddystone_uid: eddystone_uid\neddystone_eid: eddystone_eid\naddress: address', enum_type=BeaconKind, max_length=16)),
                ('ident', fields.CharField(max_length=64)),
                ('address', fields.CharField(default='', max_length=17)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('detail', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'beacon_events', 'app': 'models', 'indexes': [Index(fields=['site_id', 'at']), Index(fields=['equipment_id', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BridgeBatch',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('device_id', fields.IntField()),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='bridge_batches', on_delete=OnDelete.CASCADE)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sightings', fields.IntField(default=0)),
                ('events', fields.IntField(default=0)),
            ],
            options={'table': 'bridge_batches', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BridgeState',
            fields=[
                ('device', fields.OneToOneField('models.Device', source_field='device_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='bridge_state', on_delete=OnDelete.CASCADE)),
                ('covers', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('last_heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_batch_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.CharField(default='', max_length=40)),
                ('adapter', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('spool_size', fields.IntField(default=0)),
                ('dead_letters', fields.IntField(default=0)),
            ],
            options={'table': 'bridge_states', 'app': 'models', 'pk_attr': 'device_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FireEquipment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='fire_equipment', on_delete=OnDelete.RESTRICT)),
                ('zone', fields.ForeignKeyField('models.Zone', source_field='zone_id', null=True, db_constraint=True, to_field='id', related_name='fire_equipment', on_delete=OnDelete.SET_NULL)),
                ('name', fields.CharField(max_length=120)),
                ('type', fields.CharEnumField(description='extinguisher: extinguisher\nhydrant: hydrant\nhose_reel: hose_reel\nalarm_panel: alarm_panel\nemergency_light: emergency_light\nother: other', enum_type=EquipmentType, max_length=24)),
                ('location', fields.CharField(default='', max_length=200)),
                ('beacon_kind', fields.CharEnumField(null=True, description='ibeacon: ibeacon\neddystone_uid: eddystone_uid\neddystone_eid: eddystone_eid\naddress: address', enum_type=BeaconKind, max_length=16)),
                ('beacon_ident', fields.CharField(null=True, max_length=64)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_bridge_id', fields.IntField(null=True)),
                ('last_rssi', fields.SmallIntField(null=True)),
                ('battery_percent', fields.SmallIntField(null=True)),
                ('battery_low', fields.BooleanField(default=False)),
                ('missing', fields.BooleanField(default=False)),
                ('missing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('tamper_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('moved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'fire_equipment', 'app': 'models', 'unique_together': (('site', 'name'), ('beacon_kind', 'beacon_ident')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sighting',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='sightings', on_delete=OnDelete.CASCADE)),
                ('device_id', fields.IntField()),
                ('batch_id', fields.UUIDField()),
                ('kind', fields.CharEnumField(description='ibeacon: ibeacon\neddystone_uid: eddystone_uid\neddystone_eid: eddystone_eid\naddress: address', enum_type=BeaconKind, max_length=16)),
                ('ident', fields.CharField(max_length=64)),
                ('address', fields.CharField(max_length=17)),
                ('first_seen', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('rssi_max', fields.SmallIntField()),
                ('count', fields.IntField()),
                ('battery_percent', fields.SmallIntField(null=True)),
                ('battery_mv', fields.IntField(null=True)),
                ('temperature_c', fields.FloatField(null=True)),
            ],
            options={'table': 'bridge_sightings', 'app': 'models', 'indexes': [Index(fields=['site_id', 'last_seen']), Index(fields=['kind', 'ident']), Index(fields=['batch_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
