from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_tours_and_rounds')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Tour',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Tour',
            name='hotspot_zone_id',
            field=fields.IntField(null=True),
        ),
    ]
