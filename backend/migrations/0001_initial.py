from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.models.devices import DeviceKind
from backend.models.organizations import SiteKind, ZoneKind
from backend.models.users import Role
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_user_id', fields.IntField(null=True)),
                ('actor_device_id', fields.IntField(null=True)),
                ('organization_id', fields.IntField(null=True)),
                ('site_id', fields.IntField(null=True, db_index=True)),
                ('action', fields.CharField(max_length=64)),
                ('entity', fields.CharField(max_length=32)),
                ('entity_id', fields.CharField(max_length=64)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('request_id', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'audit_events', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=200)),
                ('failures', fields.IntField(default=0)),
                ('window_started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lockouts', fields.IntField(default=0)),
            ],
            options={'table': 'login_throttles', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=120)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organizations', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Site',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='sites', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=120)),
                ('kind', fields.CharEnumField(description='community: community\nbuilding: building', enum_type=SiteKind, max_length=16)),
                ('timezone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('address', fields.CharField(default='', max_length=255)),
                ('after_hours_start', fields.CharField(default='22:00', max_length=5)),
                ('after_hours_end', fields.CharField(default='06:00', max_length=5)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sites', 'app': 'models', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(max_length=120)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('password_hash', fields.CharField(max_length=255)),
                ('locale', fields.CharField(default='zh-CN', max_length=8)),
                ('is_active', fields.BooleanField(default=True)),
                ('is_superuser', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Device',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uid', fields.UUIDField(unique=True)),
                ('kind', fields.CharEnumField(description='phone: phone\nbridge: bridge', enum_type=DeviceKind, max_length=16)),
                ('name', fields.CharField(default='', max_length=120)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.RESTRICT)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', null=True, db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.RESTRICT)),
                ('token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.ForeignKeyField('models.User', source_field='revoked_by_id', null=True, db_constraint=True, to_field='id', related_name='revoked_devices', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'devices', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('client_address', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'sessions', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Zone',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='zones', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=120)),
                ('kind', fields.CharEnumField(default=ZoneKind.area, description='area: area\nbuilding: building\nfloor: floor\ncar_park: car_park\ngate: gate\nother: other', enum_type=ZoneKind, max_length=16)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'zones', 'app': 'models', 'unique_together': (('site', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Unit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='units', on_delete=OnDelete.RESTRICT)),
                ('zone', fields.ForeignKeyField('models.Zone', source_field='zone_id', null=True, db_constraint=True, to_field='id', related_name='units', on_delete=OnDelete.SET_NULL)),
                ('label', fields.CharField(max_length=64)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'units', 'app': 'models', 'unique_together': (('site', 'label'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('site', fields.ForeignKeyField('models.Site', source_field='site_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharEnumField(description='admin: admin\nsupervisor: supervisor\nguard: guard\nresident: resident', enum_type=Role, max_length=16)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='residents', on_delete=OnDelete.RESTRICT)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'memberships', 'app': 'models', 'unique_together': (('user', 'site', 'role', 'unit'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
