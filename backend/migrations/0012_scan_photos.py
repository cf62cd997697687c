from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_incidents_and_media')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ScanPhoto',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scan', fields.ForeignKeyField('models.Scan', source_field='scan_id', db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.RESTRICT)),
                ('media', fields.ForeignKeyField('models.Media', source_field='media_id', db_constraint=True, to_field='sha256', related_name='scan_photos', on_delete=OnDelete.RESTRICT)),
                ('key', fields.CharField(max_length=32)),
            ],
            options={'table': 'scan_photos', 'app': 'models', 'unique_together': (('scan', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
