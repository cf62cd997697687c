from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_hotspots')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Scan',
            name='round_id',
            field=fields.IntField(null=True),
        ),
    ]
