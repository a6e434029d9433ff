"""Initial schema: people, organisations, districts and funds, classes, enrolments, evidence,
certificates, claims and decisions, the audit trail, notices, objections, payments, recoveries.

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-01 21:53:28.596862
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "district",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_district")),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_entity", ["entity", "entity_id", "id"], unique=False)

    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("social_security_card", sa.String(length=32), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("id_number", name=op.f("uq_person_id_number")),
    )
    op.create_table(
        "fund_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_fund_account_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_account")),
        sa.UniqueConstraint("district_code", name=op.f("uq_fund_account_district_code")),
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("public_institution", sa.Boolean(), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_organisation_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_organisation_credit_code")),
    )
    op.create_table(
        "public_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "closed",
                name="notice_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_public_notice_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_notice")),
    )
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occupation", sa.String(length=64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("renewal", sa.Boolean(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["organisation.id"], name=op.f("fk_certificate_issuer_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_certificate_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("number", name=op.f("uq_certificate_number")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_person_id"), ["person_id"], unique=False)

    op.create_table(
        "payment_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "paid",
                name="batch_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["fund_account.id"], name=op.f("fk_payment_batch_fund_id_fund_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batch")),
    )
    with op.batch_alter_table("payment_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_batch_fund_id"), ["fund_id"], unique=False)

    op.create_table(
        "training_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("subsidy_kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("occupation", sa.String(length=64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("course", sa.String(length=16), nullable=True),
        sa.Column("hours", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("venue", sa.String(length=256), nullable=False),
        sa.Column(
            "teachers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "schedule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("max_size", sa.Integer(), nullable=True),
        sa.Column("domestic_service", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "filed",
                "approved",
                "running",
                "finished",
                "refused",
                name="class_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("over_size", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_training_class_district_code_district"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_training_class_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_class")),
    )
    with op.batch_alter_table("training_class", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_class_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("claimant", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "returned",
                "checked",
                "reviewed",
                "in_notice",
                "re_review",
                "approved",
                "paid",
                "rejected",
                "withdrawn",
                "cancelled",
                "recovered",
                name="claim_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "submitted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificate.id"], name=op.f("fk_claim_certificate_id_certificate")
        ),
        sa.ForeignKeyConstraint(
            ["class_id"], ["training_class.id"], name=op.f("fk_claim_class_id_training_class")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["district.code"], name=op.f("fk_claim_district_code_district")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_claim_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_claim_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim")),
        sa.UniqueConstraint("reference", name=op.f("uq_claim_reference")),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_class_id"), ["class_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_district_code"), ["district_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_claim_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_claim_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_status"), ["status"], unique=False)

    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["training_class.id"], name=op.f("fk_enrolment_class_id_training_class")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_enrolment_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
        sa.UniqueConstraint("class_id", "person_id", name=op.f("uq_enrolment_class_id")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_class_id"), ["class_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolment_person_id"), ["person_id"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pack_id", sa.String(length=32), nullable=True),
        sa.Column("pack_version", sa.String(length=32), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payee", sa.String(length=32), nullable=True),
        sa.Column("fund_district", sa.String(length=16), nullable=True),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "explanation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column(
            "decided_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_decision_claim_id_claim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("claim_id", "version", name=op.f("uq_decision_claim_id")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("file_name", sa.String(length=256), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["training_class.id"], name=op.f("fk_evidence_class_id_training_class")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_evidence_enrolment_id_enrolment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_class_id"), ["class_id"], unique=False)

    op.create_table(
        "notice_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_notice_item_claim_id_claim")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["public_notice.id"], name=op.f("fk_notice_item_notice_id_public_notice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_item")),
        sa.UniqueConstraint("notice_id", "claim_id", name=op.f("uq_notice_item_notice_id")),
    )
    with op.batch_alter_table("notice_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_item_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_item_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("lodged_on", sa.Date(), nullable=False),
        sa.Column("objector", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=128), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "lodged",
                "upheld",
                "dismissed",
                name="objection_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("objector_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_objection_claim_id_claim")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["public_notice.id"], name=op.f("fk_objection_notice_id_public_notice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection")),
    )
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objection_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objection_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payee", sa.String(length=32), nullable=False),
        sa.Column("account_kind", sa.String(length=32), nullable=False),
        sa.Column("account_name", sa.String(length=128), nullable=False),
        sa.Column("account_number", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["payment_batch.id"], name=op.f("fk_payment_batch_id_payment_batch")
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_payment_claim_id_claim")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_payment_claim_id")),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "recovery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ordered",
                "recovered",
                name="recovery_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "ordered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("recovered_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_recovery_claim_id_claim")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_recovery_payment_id_payment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_recovery_claim_id")),
    )
    op.create_table(
        "fund_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("recovery_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["fund_account.id"], name=op.f("fk_fund_movement_fund_id_fund_account")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_fund_movement_payment_id_payment")
        ),
        sa.ForeignKeyConstraint(
            ["recovery_id"], ["recovery.id"], name=op.f("fk_fund_movement_recovery_id_recovery")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_movement")),
    )
    with op.batch_alter_table("fund_movement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_movement_fund_id"), ["fund_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fund_movement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_movement_fund_id"))

    op.drop_table("fund_movement")
    op.drop_table("recovery")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_batch_id"))

    op.drop_table("payment")
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objection_notice_id"))
        batch_op.drop_index(batch_op.f("ix_objection_claim_id"))

    op.drop_table("objection")
    with op.batch_alter_table("notice_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_item_notice_id"))
        batch_op.drop_index(batch_op.f("ix_notice_item_claim_id"))

    op.drop_table("notice_item")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_class_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_claim_id"))

    op.drop_table("decision")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_person_id"))
        batch_op.drop_index(batch_op.f("ix_enrolment_class_id"))

    op.drop_table("enrolment")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_status"))
        batch_op.drop_index(batch_op.f("ix_claim_person_id"))
        batch_op.drop_index(batch_op.f("ix_claim_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_claim_district_code"))
        batch_op.drop_index(batch_op.f("ix_claim_class_id"))

    op.drop_table("claim")
    with op.batch_alter_table("training_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_class_organisation_id"))

    op.drop_table("training_class")
    with op.batch_alter_table("payment_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_batch_fund_id"))

    op.drop_table("payment_batch")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_person_id"))

    op.drop_table("certificate")
    op.drop_table("public_notice")
    op.drop_table("organisation")
    op.drop_table("fund_account")
    op.drop_table("person")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_entity")

    op.drop_table("event")
    op.drop_table("district")
