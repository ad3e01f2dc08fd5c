"""The SQL schema (SQLAlchemy Core). Times are integer milliseconds since the epoch, UTC.

Every row but `accounts` carries `account_id`, and every query filters on it: that is how tenants
stay apart. Alembic migrations in `migrations/versions` are generated from this metadata.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only
Ms = sa.BigInteger

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plan", sa.String(20), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=False, unique=True),
    sa.Column("feed_url", sa.String(2000), nullable=True),
    sa.Column("created_at", Ms, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("revoked_at", Ms, nullable=True),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    # Set when this contact turned out to be another one; its history moved there.
    sa.Column("merged_into", Id, nullable=True),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    # Changes whenever the contact's interactions change; NULL: it never had any (store.history_marks).
    sa.Column("history_mark", sa.BigInteger, nullable=True),
    # A merge re-points the contacts merged into the loser; erasure finds them: by index, not by a scan.
    sa.Index("ix_contacts_account_merged_into", "account_id", "merged_into"),
)

contact_identifiers = sa.Table(
    "contact_identifiers",
    metadata,
    sa.Column("account_id", Id, primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("value", sa.String(320), primary_key=True),
    sa.Column("contact_id", Id, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    # False: claimed by a browser with only the public site id; it grants nobody the contact's data.
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.true()),
    # The contact the identifier belonged to before any merge (NULL: never moved), so a merge can be undone.
    sa.Column("origin_contact_id", Id, nullable=True),
    # A contact's identifiers (merges, erasure, export): both columns, or PostgreSQL scans the key's
    # account prefix, every identifier of the account, for each merge.
    sa.Index("ix_contact_identifiers_account_contact", "account_id", "contact_id"),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("account_id", Id, primary_key=True),
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(1000), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    sa.Column("descr", sa.Text, nullable=False),
    sa.Column("brand", sa.String(300), nullable=False),
    sa.Column("category", sa.JSON, nullable=False),
    sa.Column("in_stock", sa.Boolean, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    # False once a full feed no longer lists it: kept, never recommended.
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("feed_seen_at", Ms, nullable=True),  # the last full feed that listed it
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Index("ix_products_account_updated", "account_id", "updated_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("contact_id", Id, nullable=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("ts", Ms, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", Ms, nullable=False),
    sa.Column("origin_contact_id", Id, nullable=True),  # before a merge moved it (see contact_identifiers)
    # The client's id for the event (the platform's event GUIDs): a retried batch does not store it twice.
    sa.Column("event_key", sa.String(100), nullable=True),
    sa.Index("ix_events_account_contact_ts", "account_id", "contact_id", "ts"),
    # Most events carry no key: only those that do are indexed (migration 0010).
    sa.Index("ux_events_account_event_key", "account_id", "event_key", unique=True,
             postgresql_where=sa.text("event_key IS NOT NULL"), sqlite_where=sa.text("event_key IS NOT NULL")),
)

# What the recommenders learn from: one row per (contact, product, kind) occurrence.
interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=False),
    # NULL: an anonymous order or cart (no visitor identifier); it counts for store-wide models only.
    sa.Column("contact_id", Id, nullable=True),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("product_id", sa.String(200), nullable=True),
    sa.Column("category", sa.String(300), nullable=True),
    sa.Column("ts", Ms, nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("price", sa.Float, nullable=True),
    sa.Column("order_number", sa.String(200), nullable=True),
    sa.Column("origin_contact_id", Id, nullable=True),  # before a merge moved it (see contact_identifiers)
    # A contact's newest interactions (the hot path's history read) come from this index alone.
    sa.Index("ix_interactions_account_contact_history", "account_id", "contact_id", "ts", "product_id", "kind"),
    sa.Index("ix_interactions_account_ts", "account_id", "ts"),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("account_id", Id, primary_key=True),
    sa.Column("order_number", sa.String(200), primary_key=True),
    sa.Column("contact_id", Id, nullable=True),  # NULL: a guest order with no identifier
    sa.Column("origin_contact_id", Id, nullable=True),  # before a merge moved it (see contact_identifiers)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("ts", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Index("ix_orders_account_contact", "account_id", "contact_id"),  # a merge moves a contact's orders
)

carts = sa.Table(
    "carts",
    metadata,
    sa.Column("account_id", Id, primary_key=True),
    sa.Column("contact_id", Id, primary_key=True),
    sa.Column("lines", sa.JSON, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

datasources = sa.Table(
    "datasources",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("algorithm", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("fallback", sa.JSON, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    # A/B variants beside the control (NULL: none), as sent; the experiment's start salts the assignment.
    sa.Column("variants", sa.JSON, nullable=True),
    sa.Column("experiment_started_at", Ms, nullable=True),
    sa.Column("variant_seq", sa.Integer, nullable=False, server_default="0"),  # the last variant id handed out
)

# Contact tokens (SPEC §2), one row per chain: a token is `<chain><secret><seq>`; exchanging it moves
# the chain to the next sequence number and secret in ONE update. Only hashes are stored: the chain's
# and the current secret's. A token of an earlier sequence number presented again means it leaked: the
# chain is revoked.
token_chains = sa.Table(
    "token_chains",
    metadata,
    sa.Column("chain_hash", sa.String(64), primary_key=True),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("contact_id", Id, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Index("ix_token_chains_account_contact", "account_id", "contact_id"),
    # One B-tree keyed by the chain: the hot path's update touches no indexed column.
    sqlite_with_rowid=False,
)

feed_imports = sa.Table(
    "feed_imports",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=False, index=True),
    sa.Column("source", sa.String(2000), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("full", sa.Boolean, nullable=False),
    sa.Column("items_ok", sa.Integer, nullable=False),
    sa.Column("items_bad", sa.Integer, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("started_at", Ms, nullable=False),
    sa.Column("finished_at", Ms, nullable=True),  # NULL while the import is queued or running
    # An import is a job: queued -> running -> done | failed (then `error` says why, never fetched content).
    sa.Column("status", sa.String(16), nullable=False, server_default="done"),
    sa.Column("error", sa.String(500), nullable=True),
)

# Shop domains registered for web tracking (the platform's `POST /site/domains`): one account each.
site_domains = sa.Table(
    "site_domains",
    metadata,
    sa.Column("domain", sa.String(253), primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("created_at", Ms, nullable=False),
)

# Impressions and clicks of served recommendations (mobile SDK, web tracker, API), per data source.
recom_events = sa.Table(
    "recom_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("datasource_id", Id, nullable=True),  # NULL when the variant id names no data source
    sa.Column("variant", sa.String(64), nullable=False),  # as the client sent it, e.g. "r12v3" or "12"
    sa.Column("contact_id", Id, nullable=True),
    sa.Column("product_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # impression | click
    sa.Column("ts", Ms, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("received_at", Ms, nullable=False),
    sa.Column("variant_id", sa.SmallInteger, nullable=True),  # the A/B variant shown (0: the control)
    sa.Column("recommendation_id", Id, nullable=True),  # the served list, when the client named it
    sa.Index("ix_recom_events_account_datasource_ts", "account_id", "datasource_id", "ts"),
    # Attribution looks up a buyer's last click or impression of a product.
    sa.Index("ix_recom_events_account_contact_product_ts", "account_id", "contact_id", "product_id", "ts"),
)

# Every served recommendation list (written in batches, off the request path); `id` is the number in the
# recommendation id the response carried.
recommendation_log = sa.Table(
    "recommendation_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("datasource_id", Id, nullable=False),
    sa.Column("variant_id", sa.SmallInteger, nullable=False),
    sa.Column("contact_id", Id, nullable=True),
    sa.Column("items", sa.JSON, nullable=False),  # the product ids, best first
    sa.Column("ts", Ms, nullable=False),
    sa.Index("ix_recommendation_log_account_datasource_ts", "account_id", "datasource_id", "ts"),
)

# Ended A/B experiments: which variants ran, from when to when, and which one was promoted.
experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("datasource_id", Id, nullable=False),
    sa.Column("started_at", Ms, nullable=False),
    sa.Column("ended_at", Ms, nullable=False),
    sa.Column("winner", sa.SmallInteger, nullable=False),
    sa.Column("variants", sa.JSON, nullable=False),  # every arm's configuration, the control first
    sa.Index("ix_experiments_account_datasource", "account_id", "datasource_id"),
)

# Web console sign-ins: the cookie holds a random token, stored here only as its hash (as API keys are).
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("key_id", Id, nullable=False),  # the API key signed in with: revoking it ends the session
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
)

# Every merge of two contacts, so that it can be undone (`recoms contact unmerge`).
contact_merges = sa.Table(
    "contact_merges",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, nullable=False),
    sa.Column("loser_id", Id, nullable=False),
    sa.Column("winner_id", Id, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),  # what linked them: the identifiers' kinds and the caller
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("undone_at", Ms, nullable=True),
    # What the merge overwrote and the moved rows cannot tell: the winner's attributes before it, the
    # loser's cart. NULL for merges recorded before migration 0004.
    sa.Column("undo", sa.JSON, nullable=True),
    sa.Index("ix_contact_merges_account_winner", "account_id", "winner_id"),
    sa.Index("ix_contact_merges_account_loser", "account_id", "loser_id"),
)

# Identity claims made with only the public site id: "this visitor is that customer". They join the
# visitor's history to the customer's for training; they never give the visitor the customer's data.
contact_claims = sa.Table(
    "contact_claims",
    metadata,
    sa.Column("account_id", Id, primary_key=True),
    sa.Column("contact_id", Id, primary_key=True),  # the claimant (the visitor's own contact)
    sa.Column("claimed_id", Id, primary_key=True),  # the contact it says it is
    sa.Column("created_at", Ms, nullable=False),
    sa.Index("ix_contact_claims_account_claimed", "account_id", "claimed_id"),
)
