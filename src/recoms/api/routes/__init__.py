"""One module per resource; `ALL` is the order the app includes their routers in."""

from recoms.api.routes import (
    analytics,
    catalog,
    console,
    contacts,
    datasources,
    docs,
    health,
    mobile,
    orders,
    recoms,
    scripts,
    sites,
    tokens,
    tracking,
)

ALL = (tokens, recoms, mobile, tracking, scripts, sites, orders, catalog, datasources, contacts, health, analytics,
       docs, console)
