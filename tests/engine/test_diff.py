"""The comparators on hand-built values: no database, one behaviour per test."""

from __future__ import annotations

from dataclasses import replace

from schemasync.diff import CompareOptions, analyse, compare
from schemasync.diff import changes as c
from schemasync.diff.names import nextval_sequence, replace_identifier, split_qualified, type_names
from schemasync.schema.model import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    PrimaryKey,
    RenameHints,
    Sequence,
    UniqueConstraint,
)
from tests.engine.values import col, posts, schema, table, users, with_columns


def kinds(changes: list[c.Change]) -> list[str]:
    return [type(x).__name__ for x in changes]


def test_equal_schemas_have_no_changes() -> None:
    s = schema(users(), posts())
    assert compare(s, s) == []


def test_new_table_comes_before_its_foreign_keys_and_indexes() -> None:
    changes = compare(schema(), schema(posts(), users()))
    assert kinds(changes) == ["CreateTable", "CreateTable", "CreateIndex", "AddForeignKey"]
    assert [x.table.name for x in changes if isinstance(x, c.CreateTable)] == ["users", "posts"]
    created = changes[1]
    assert isinstance(created, c.CreateTable) and created.table.foreign_keys == () and created.table.indexes == ()


def test_foreign_key_cycle_between_new_tables() -> None:
    a = table("a", col("id", nullable=False), col("b_id"))
    b = table("b", col("id", nullable=False), col("a_id"))
    a = replace(a, foreign_keys=(ForeignKey("a_b", ("b_id",), "public", "b", ("id",)),))
    b = replace(b, foreign_keys=(ForeignKey("b_a", ("a_id",), "public", "a", ("id",)),))
    changes = compare(schema(), schema(a, b))
    assert kinds(changes) == ["CreateTable", "CreateTable", "AddForeignKey", "AddForeignKey"]


def test_table_missing_from_models_is_unmanaged_without_prune_and_dropped_with_it() -> None:
    current, desired = schema(users(), table("legacy")), schema(users())
    diff = analyse(current, desired)
    assert diff.changes == ()
    assert [u.describe() for u in diff.unmanaged] == ["table public.legacy"]
    assert kinds(compare(current, desired, CompareOptions(prune=True))) == ["DropTable"]


def test_dropped_tables_go_referencing_first_and_cycles_drop_their_foreign_keys() -> None:
    a = replace(
        table("a", col("id"), col("b_id")), foreign_keys=(ForeignKey("a_b", ("b_id",), "public", "b", ("id",)),)
    )
    b = table("b", col("id"))
    changes = compare(schema(a, b), schema(users()), CompareOptions(prune=True))
    assert [(type(x).__name__, getattr(x, "name", "")) for x in changes if isinstance(x, c.DropTable)] == [
        ("DropTable", "a"),
        ("DropTable", "b"),
    ]
    b2 = replace(
        b, columns=(col("id"), col("a_id")), foreign_keys=(ForeignKey("b_a", ("a_id",), "public", "a", ("id",)),)
    )
    changes = compare(schema(a, b2), schema(users()), CompareOptions(prune=True))
    assert kinds(changes)[:2] == ["DropForeignKey", "DropForeignKey"]
    assert kinds(changes)[2:] == ["DropTable", "DropTable", "CreateTable"]


def test_own_tables_are_never_touched() -> None:
    versions = table("schema_versions", col("id"))
    snapshots = table("schema_snapshots", col("id"))
    assert compare(schema(versions, snapshots, users()), schema(users()), CompareOptions(prune=True)) == []
    assert compare(schema(users()), schema(users(), versions)) == []


def test_table_filters_and_schemas() -> None:
    other = table("audit", schema="audit")
    current = schema(users(), other, table("tmp_import"))
    desired = schema(users())
    # the audit schema is not one the models use: not even reported
    assert [u.describe() for u in analyse(current, desired).unmanaged] == ["table public.tmp_import"]
    opts = CompareOptions(prune=True, exclude_tables=("tmp_*",))
    assert compare(current, desired, opts) == []
    opts = CompareOptions(prune=True, include_tables=("public.users",))
    assert compare(current, desired, opts) == []
    opts = CompareOptions(prune=True, include_schemas=("public", "audit"))
    assert sorted(x.name for x in compare(current, desired, opts) if isinstance(x, c.DropTable)) == [
        "audit",
        "tmp_import",
    ]


def test_new_schema_is_created_first() -> None:
    changes = compare(schema(), schema(table("t", schema="app")))
    assert changes[0] == c.CreateSchema("app")


def test_columns_added_dropped_only_with_prune() -> None:
    current = schema(users())
    desired = schema(with_columns(users(), *users().columns[:2], col("display_name", "text")))
    diff = analyse(current, desired)
    assert kinds(list(diff.changes)) == ["AddColumn"]
    assert [u.describe() for u in diff.unmanaged] == ["column public.users.name"]
    assert [s.describe() for s in diff.suggestions] == ["column public.users.name -> display_name"]
    assert kinds(compare(current, desired, CompareOptions(prune=True))) == ["DropColumn", "AddColumn"]


def test_unmanaged_not_null_column_is_flagged() -> None:
    current = schema(with_columns(users(), *users().columns, col("tenant", "integer", nullable=False)))
    (u,) = analyse(current, schema(users())).unmanaged
    assert "inserts that do not set it will fail" in u.note


def test_declared_column_rename_keeps_data_and_is_inert_afterwards() -> None:
    hints = RenameHints(columns=(("public", "users", "display_name", "name"),))
    desired = schema(with_columns(users(), *users().columns[:2], col("display_name", "text")))
    changes = compare(schema(users()), desired, CompareOptions(prune=True, hints=hints))
    assert changes == [c.RenameColumn("public", "users", "name", "display_name")]
    assert compare(desired, desired, CompareOptions(prune=True, hints=hints)) == []


def test_declared_table_rename_follows_keys_sequences_and_foreign_keys() -> None:
    hints = RenameHints(tables=(("public", "accounts", "users"),))
    accounts = replace(
        users(),
        name="accounts",
        columns=(
            col("id", nullable=False, default="nextval('accounts_id_seq'::regclass)"),
            *users().columns[1:],
        ),
        primary_key=PrimaryKey("accounts_pkey", ("id",)),
    )
    new_posts = replace(
        posts(), foreign_keys=(ForeignKey("posts_user_id_fkey", ("user_id",), "public", "accounts", ("id",)),)
    )
    changes = compare(schema(users(), posts()), schema(accounts, new_posts), CompareOptions(hints=hints))
    assert changes == [
        c.RenameTable("public", "users", "accounts"),
        c.RenameSequence("public", "users_id_seq", "accounts_id_seq"),
        c.RenameConstraint("public", "accounts", "users_pkey", "accounts_pkey"),
    ]


def test_type_change_drops_and_restores_the_default_around_it() -> None:
    old = table("t", col("id", nullable=False), col("n", "integer", default="0"))
    new = table("t", col("id", nullable=False), col("n", "bigint", default="0", nullable=False, comment="count"))
    assert compare(schema(old), schema(new)) == [
        c.AlterColumnDefault("public", "t", "n", None, "0"),
        c.AlterColumnType("public", "t", "n", "integer", "bigint"),
        c.AlterColumnNullability("public", "t", "n", False),
        c.AlterColumnDefault("public", "t", "n", "0", None),
        c.AlterColumnComment("public", "t", "n", "count"),
    ]


def test_serial_becomes_identity_dropping_its_sequence() -> None:
    old = table("t", col("id", nullable=False, default="nextval('t_id_seq'::regclass)"))
    new = table("t", col("id", nullable=False, identity="always"))
    assert compare(schema(old), schema(new)) == [
        c.AlterColumnDefault(
            "public", "t", "id", None, "nextval('t_id_seq'::regclass)", drop_sequence=("public", "t_id_seq")
        ),
        c.AlterColumnIdentity("public", "t", "id", "always", None),
    ]
    back = compare(schema(new), schema(old))
    assert back == [
        c.AlterColumnIdentity("public", "t", "id", None, "always"),
        c.AlterColumnDefault(
            "public", "t", "id", "nextval('t_id_seq'::regclass)", None, create_sequence=("public", "t_id_seq")
        ),
    ]


def test_integer_serial_widened_keeps_its_sequence() -> None:
    old = table("t", col("id", nullable=False, default="nextval('t_id_seq'::regclass)"))
    new = table("t", col("id", "bigint", nullable=False, default="nextval('t_id_seq'::regclass)"))
    changes = compare(schema(old), schema(new))
    assert kinds(changes) == ["AlterColumnDefault", "AlterColumnType", "AlterColumnDefault"]
    assert all(
        getattr(x, "drop_sequence", None) is None and getattr(x, "create_sequence", None) is None for x in changes
    )


def test_generated_column_changes() -> None:
    base = (col("id", nullable=False), col("a"), col("b"))
    old = table("t", *base, col("s", generated="(a + b)"))
    new = table("t", *base, col("s", generated="(a * b)"))
    assert kinds(compare(schema(old), schema(new))) == ["AlterColumnGenerated"]
    plain = table("t", *base, col("s"))
    assert compare(schema(old), schema(plain)) == [c.AlterColumnGenerated("public", "t", plain.columns[3], "(a + b)")]


def test_constraints_renamed_by_shape_changed_rebuilt_dropped() -> None:
    u1 = UniqueConstraint("users_email_key", ("email",))
    u2 = UniqueConstraint("uq_users_email", ("email",))
    chk1 = CheckConstraint("ck_len", "((length(name) > 0))")
    chk2 = CheckConstraint("ck_len", "((length(name) > 1))")
    old = users(uniques=(u1,), checks=(chk1,))
    new = users(uniques=(u2,), checks=(chk2,))
    assert compare(schema(old), schema(new)) == [
        c.RenameConstraint("public", "users", "users_email_key", "uq_users_email"),
        c.DropCheck("public", "users", "ck_len"),
        c.AddCheck("public", "users", chk2),
    ]


def test_unvalidated_foreign_key_is_validated() -> None:
    old = posts()
    fk = replace(old.foreign_keys[0], validated=False)
    changes = compare(schema(users(), replace(old, foreign_keys=(fk,))), schema(users(), old))
    assert changes == [c.ValidateConstraint("public", "posts", "posts_user_id_fkey")]


def test_rebuilding_a_referenced_key_drops_and_readds_foreign_keys() -> None:
    old_users = users()
    new_users = users(pk=None, uniques=())
    new_users = replace(new_users, primary_key=PrimaryKey("users_pkey", ("id", "email")))
    changes = compare(schema(old_users, posts()), schema(new_users, posts()))
    assert kinds(changes) == ["DropForeignKey", "DropPrimaryKey", "AddPrimaryKey", "AddForeignKey"]


def test_indexes_renamed_rebuilt_invalid_rebuilt() -> None:
    i1 = Index("ix_a", False, "btree", ("user_id",))
    i2 = Index("ix_b", False, "btree", ("user_id",))
    i3 = Index("ix_b", False, "btree", ("user_id",), where="(user_id > 0)")
    assert compare(schema(posts(indexes=(i1,))), schema(posts(indexes=(i2,)))) == [
        c.RenameIndex("public", "posts", "ix_a", "ix_b")
    ]
    assert kinds(compare(schema(posts(indexes=(i2,))), schema(posts(indexes=(i3,))))) == ["DropIndex", "CreateIndex"]
    broken = replace(i2, valid=False)
    assert kinds(compare(schema(posts(indexes=(broken,))), schema(posts(indexes=(i2,))))) == [
        "DropIndex",
        "CreateIndex",
    ]


def test_index_on_unmanaged_column_is_left_alone_without_prune() -> None:
    old = posts(indexes=(Index("ix_legacy", False, "btree", ("legacy_code",)),))
    old = with_columns(old, *old.columns, col("legacy_code", "text"))
    assert compare(schema(users(), old), schema(users(), posts(indexes=()))) == []
    assert kinds(compare(schema(users(), old), schema(users(), posts(indexes=())), CompareOptions(prune=True))) == [
        "DropIndex",
        "DropColumn",
    ]


def test_enum_labels_added_in_position() -> None:
    old = Enum("public", "mood", ("sad", "ok"))
    new = Enum("public", "mood", ("awful", "sad", "meh", "ok", "happy", "great"))
    assert compare(schema(enums=(old,)), schema(enums=(new,))) == [
        c.AddEnumValue("public", "mood", "awful", before="sad"),
        c.AddEnumValue("public", "mood", "meh", after="sad"),
        c.AddEnumValue("public", "mood", "happy", after="ok"),
        c.AddEnumValue("public", "mood", "great", after="happy"),
    ]


def test_enum_label_removed_or_reordered_recreates_with_its_columns() -> None:
    old = Enum("public", "mood", ("sad", "ok", "happy"))
    t = table("t", col("id", nullable=False), col("m", "mood", default="'ok'::mood"), col("ms", "mood[]"))
    for labels in (("sad", "happy"), ("ok", "sad", "happy")):
        new = Enum("public", "mood", labels)
        changes = compare(schema(t, enums=(old,)), schema(t, enums=(new,)))
        assert changes == [
            c.RecreateEnum(
                new,
                old.labels,
                (c.EnumUse("public", "t", "m", False, "'ok'::mood"), c.EnumUse("public", "t", "ms", True, None)),
            )
        ]


def test_enums_and_sequences_dropped_only_with_prune() -> None:
    current = schema(enums=(Enum("public", "gone", ("a",)),), sequences=(Sequence("public", "s"),))
    desired = schema(users())
    assert [u.kind for u in analyse(current, desired).unmanaged] == ["enum", "sequence"]
    assert kinds(compare(current, desired, CompareOptions(prune=True))) == ["CreateTable", "DropEnum", "DropSequence"]


def test_sequence_created_then_owned_then_altered() -> None:
    seq = Sequence("public", "order_no", start=1000, owned_by="users.id")
    changes = compare(schema(users()), schema(users(), sequences=(seq,)))
    assert kinds(changes) == ["CreateSequence", "AlterSequence"]
    assert changes[0].sequence.owned_by is None  # type: ignore[union-attr]
    changes = compare(schema(users(), sequences=(seq,)), schema(users(), sequences=(replace(seq, increment=5),)))
    assert kinds(changes) == ["AlterSequence"]


def test_likely_table_rename_is_a_suggestion_only() -> None:
    diff = analyse(schema(users()), schema(replace(users(), name="members")))
    assert kinds(list(diff.changes)) == ["CreateTable"]
    assert [s.describe() for s in diff.suggestions] == ["table public.users -> members"]
    assert diff.suggestions[0].hints == RenameHints(tables=(("public", "members", "users"),))


def test_comments() -> None:
    assert compare(schema(users()), schema(users(comment="People"))) == [
        c.AlterTableComment("public", "users", "People")
    ]


def test_names_helpers() -> None:
    assert split_qualified('"My Schema"."Odd""Name"') == ("My Schema", 'Odd"Name')
    assert split_qualified("app.mood") == ("app", "mood")
    assert type_names("mood[]", "public", "mood")
    assert type_names("app.mood", "app", "mood") and not type_names("mood", "app", "mood")
    assert nextval_sequence("nextval('app.\"T_id_seq\"'::regclass)") == ("app", "T_id_seq")
    assert nextval_sequence("now()") is None
    assert replace_identifier("((name)::text <> 'name'::text)", "name", "Full Name") == (
        "((\"Full Name\")::text <> 'name'::text)"
    )


def test_source_hash_ignores_what_is_out_of_scope() -> None:
    desired = schema(users())
    a = analyse(schema(users()), desired).source_hash
    b = analyse(schema(users(), table("x", schema="elsewhere")), desired).source_hash
    assert a == b
    assert a != analyse(schema(users(), table("x")), desired).source_hash
