# The world the API contract check (.ci/api_contract) runs in, made with the portal's own
# services on a fresh database: the seller of the OpenAPI document's examples (A1B2C3D4, so
# the examples' orders and events are accepted) with orders and a computed day (so GET
# /api/performance/ answers with every part of its document), the seller's read token and
# an integration token.
# Run as `manage.py shell -c "$(cat .ci/api_contract_world.py)"`; prints the two tokens as
# shell assignments.
import datetime as dt

from django.utils import timezone

from feed.services import integration_token_create
from metrics.services import daily_run
from sellers.factories import OrderFactory, orders_save
from sellers.services import api_token_create, seller_create, seller_user_create

day = timezone.localdate() - dt.timedelta(days=1)
seller = seller_create(merchant_token="A1B2C3D4", name="Contract Seller", enrolled_on=day - dt.timedelta(days=90))
user = seller_user_create(seller=seller, username="contract", password="contract pass 0123")
orders_save(
    *(
        OrderFactory.build(seller=seller, purchased_on=day - dt.timedelta(days=2 + n % 20), late=n % 7 == 0)
        for n in range(60)
    )
)
daily_run(day=day)
_, seller_token = api_token_create(seller=seller, actor=user, name="contract check")
_, integration_token = integration_token_create(name="contract check")
print(f"SELLER_TOKEN={seller_token}")
print(f"INTEGRATION_TOKEN={integration_token}")
