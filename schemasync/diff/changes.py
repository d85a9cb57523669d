"""The closed set of changes a diff can produce: small frozen values, no behaviour.

Three consumers dispatch on these types and nothing else: the ordering (`diff/order.py`), the
human summary (`diff/summary.py`) and the SQL planner (`plan/`). Each change carries the names as
they are at the moment it runs (after any renames ordered before it) and the desired values it
needs, so it can be rendered without looking anything up. `Change` is the union of all of them;
the planner checks at import time that it renders every member.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from schemasync.schema.model import (
    Attribute,
    CheckConstraint,
    Column,
    CompositeType,
    DefaultPrivilege,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Grant,
    IdentityOptions,
    Index,
    Partition,
    Policy,
    PrimaryKey,
    RangeType,
    Routine,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

Identity = Literal["always", "by default"] | None


@dataclass(frozen=True, slots=True)
class CreateSchema:
    name: str


# -- tables ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateTable:
    """Columns, primary key, unique and check constraints; foreign keys and indexes come as their own changes."""

    table: Table


@dataclass(frozen=True, slots=True)
class DropTable:
    schema: str
    name: str


@dataclass(frozen=True, slots=True)
class RenameTable:
    schema: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class AlterTableComment:
    schema: str
    table: str
    comment: str | None


# -- columns -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddColumn:
    schema: str
    table: str
    column: Column


@dataclass(frozen=True, slots=True)
class DropColumn:
    schema: str
    table: str
    name: str


@dataclass(frozen=True, slots=True)
class RenameColumn:
    schema: str
    table: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class AlterColumnType:
    schema: str
    table: str
    column: str
    old_type: str
    new_type: str
    collation: str | None = None  # the desired collation (None: the type's default)
    old_collation: str | None = None


@dataclass(frozen=True, slots=True)
class AlterColumnNullability:
    schema: str
    table: str
    column: str
    nullable: bool


@dataclass(frozen=True, slots=True)
class AlterColumnDefault:
    schema: str
    table: str
    column: str
    default: str | None  # None drops the default
    old_default: str | None = None
    drop_sequence: tuple[str, str] | None = None  # (schema, name) of a serial's own sequence, dropped with its default
    create_sequence: tuple[str, str] | None = None  # (schema, name) of a serial sequence the new default needs
    # set when the default is taken off, or put back, around a function it calls that is dropped and
    # re-created (diff/dependents.py): the plan runs it before the drop, or after the re-create
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AlterColumnIdentity:
    """The column's identity changes: added, dropped, ALWAYS <-> BY DEFAULT, or its sequence options."""

    schema: str
    table: str
    column: str
    identity: Identity
    old_identity: Identity
    options: IdentityOptions | None = None
    old_options: IdentityOptions | None = None


@dataclass(frozen=True, slots=True)
class AlterColumnGenerated:
    """PostgreSQL cannot change a stored generation expression in place (before 17): drop and re-add."""

    schema: str
    table: str
    column: Column  # the desired column
    old_generated: str | None


@dataclass(frozen=True, slots=True)
class AlterColumnComment:
    schema: str
    table: str
    column: str
    comment: str | None


# -- constraints -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddPrimaryKey:
    schema: str
    table: str
    key: PrimaryKey


@dataclass(frozen=True, slots=True)
class DropPrimaryKey:
    schema: str
    table: str
    name: str


@dataclass(frozen=True, slots=True)
class AddUnique:
    schema: str
    table: str
    constraint: UniqueConstraint


@dataclass(frozen=True, slots=True)
class DropUnique:
    schema: str
    table: str
    name: str


@dataclass(frozen=True, slots=True)
class AddForeignKey:
    schema: str
    table: str
    constraint: ForeignKey


@dataclass(frozen=True, slots=True)
class DropForeignKey:
    schema: str
    table: str
    name: str
    lost: str = ""  # why a foreign key the models do not declare cannot come back (it is otherwise left alone)


@dataclass(frozen=True, slots=True)
class AddCheck:
    schema: str
    table: str
    constraint: CheckConstraint


@dataclass(frozen=True, slots=True)
class DropCheck:
    schema: str
    table: str
    name: str
    reason: str = ""  # set when it makes way for a function it calls (diff/dependents.py), added again after


@dataclass(frozen=True, slots=True)
class ValidateConstraint:
    """A foreign key or check left NOT VALID (by an interrupted online run, or by hand) that the models want valid."""

    schema: str
    table: str
    name: str


@dataclass(frozen=True, slots=True)
class RenameConstraint:
    schema: str
    table: str
    old: str
    new: str


# -- indexes -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateIndex:
    schema: str
    table: str
    index: Index
    reason: str = ""  # set when it is built again after a function it calls was re-created (diff/dependents.py)


@dataclass(frozen=True, slots=True)
class DropIndex:
    schema: str
    table: str
    name: str
    reason: str = ""  # set when it makes way for a function it calls (diff/dependents.py), built again after


@dataclass(frozen=True, slots=True)
class RenameIndex:
    schema: str
    table: str
    old: str
    new: str


# -- enums -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateEnum:
    enum: Enum


@dataclass(frozen=True, slots=True)
class AddEnumValue:
    schema: str
    name: str
    label: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True)
class EnumUse:
    """A column whose values are recast when its enum type is recreated."""

    schema: str
    table: str
    column: str
    array: bool = False
    default: str | None = None  # the default to restore after the recast (the desired one)


@dataclass(frozen=True, slots=True)
class RecreateEnum:
    """Labels removed or reordered: rename the old type, create the new, recast each column, drop the old."""

    enum: Enum  # the desired type
    old_labels: tuple[str, ...]
    columns: tuple[EnumUse, ...] = ()


@dataclass(frozen=True, slots=True)
class AlterEnumComment:
    schema: str
    name: str
    comment: str | None


@dataclass(frozen=True, slots=True)
class DropEnum:
    schema: str
    name: str


# -- sequences ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateSequence:
    sequence: Sequence  # created without OWNED BY; an AlterSequence sets the owner once the table exists


@dataclass(frozen=True, slots=True)
class AlterSequence:
    old: Sequence
    new: Sequence


@dataclass(frozen=True, slots=True)
class RenameSequence:
    """A serial column's own sequence following its table or column rename (the default follows the OID)."""

    schema: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class DropSequence:
    schema: str
    name: str


# -- views (issue 17) ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateView:
    """A view or materialized view (with its indexes), new or re-created; `reason` says why a re-create."""

    view: View
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReplaceView:
    """CREATE OR REPLACE VIEW: the old columns stay, in order and type; new ones only at the end."""

    view: View
    old: View


@dataclass(frozen=True, slots=True)
class DropView:
    schema: str
    name: str
    materialized: bool = False
    reason: str = ""  # set when it makes way for a change; empty: pruned
    recreated: bool = True  # with a reason: created again after the change (not when it used a dropped column)


# -- extensions --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateExtension:
    extension: Extension


@dataclass(frozen=True, slots=True)
class UpdateExtension:
    """ALTER EXTENSION ... UPDATE TO the version the models pin."""

    name: str
    old_version: str
    version: str


@dataclass(frozen=True, slots=True)
class DropExtension:
    name: str
    schema: str


# -- domains -----------------------------------------------------------------------------------
DomainUse = tuple[str, str, str, int]  # (schema, table, column, array dimensions) of a column of the domain


@dataclass(frozen=True, slots=True)
class CreateDomain:
    domain: Domain


@dataclass(frozen=True, slots=True)
class RecreateDomain:
    """Another base type or collation (ALTER DOMAIN cannot change them): rename the old domain aside, create the
    new one, recast each column using it, drop the old one."""

    domain: Domain  # the desired domain
    old_type: str
    columns: tuple[DomainUse, ...] = ()


@dataclass(frozen=True, slots=True)
class AlterDomainDefault:
    schema: str
    name: str
    default: str | None


@dataclass(frozen=True, slots=True)
class AlterDomainNullability:
    schema: str
    name: str
    nullable: bool
    columns: tuple[DomainUse, ...] = ()  # checked for NULLs when NOT NULL is set


@dataclass(frozen=True, slots=True)
class AddDomainCheck:
    schema: str
    name: str
    check: CheckConstraint
    columns: tuple[DomainUse, ...] = ()  # checked against the new check


@dataclass(frozen=True, slots=True)
class DropDomainCheck:
    schema: str
    name: str
    check: str


@dataclass(frozen=True, slots=True)
class DropDomain:
    schema: str
    name: str


# -- composite types ---------------------------------------------------------------------------
CompositeUse = tuple[str, str, str, int]  # (schema, table, column, array dimensions) of a column of the type


@dataclass(frozen=True, slots=True)
class CreateComposite:
    type: CompositeType


@dataclass(frozen=True, slots=True)
class AlterComposite:
    """ALTER TYPE ... ADD / DROP / ALTER ATTRIBUTE, in one statement."""

    schema: str
    name: str
    add: tuple[Attribute, ...] = ()
    drop: tuple[str, ...] = ()
    retype: tuple[Attribute, ...] = ()  # only when no column uses the type (else RecreateComposite)
    columns: tuple[CompositeUse, ...] = ()  # whose values lose the dropped attributes


@dataclass(frozen=True, slots=True)
class RecreateComposite:
    """An attribute changes type while columns use the type (PostgreSQL refuses ALTER ATTRIBUTE TYPE then):
    rename the old type aside, create the new one, recast each column attribute by attribute, drop the old."""

    type: CompositeType  # the desired type
    old: CompositeType
    columns: tuple[CompositeUse, ...] = ()


@dataclass(frozen=True, slots=True)
class DropComposite:
    schema: str
    name: str


# -- table properties (diff/tableprops.py) -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddExclusion:
    schema: str
    table: str
    constraint: ExclusionConstraint


@dataclass(frozen=True, slots=True)
class DropExclusion:
    schema: str
    table: str
    name: str


@dataclass(frozen=True, slots=True)
class AlterTablePersistence:
    """ALTER TABLE ... SET LOGGED / SET UNLOGGED: a rewrite of the whole table."""

    schema: str
    table: str
    unlogged: bool


@dataclass(frozen=True, slots=True)
class AlterTableOptions:
    """Storage parameters set ("fillfactor=70") and reset ("fillfactor") on a table."""

    schema: str
    table: str
    set: tuple[str, ...] = ()
    reset: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlterIndexOptions:
    """Storage parameters set and reset on an index that is otherwise kept as it is."""

    schema: str
    table: str
    index: str
    set: tuple[str, ...] = ()
    reset: tuple[str, ...] = ()


# -- partitions (diff/partitions.py) --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreatePartition:
    schema: str
    table: str  # the partitioned table
    partition: Partition


@dataclass(frozen=True, slots=True)
class AttachPartition:
    """A plain table of the database (or a partition detached just before, for a new bound) attached."""

    schema: str
    table: str
    partition: Partition


@dataclass(frozen=True, slots=True)
class DetachPartition:
    schema: str
    table: str
    partition_schema: str
    name: str


@dataclass(frozen=True, slots=True)
class DropPartition:
    schema: str
    table: str
    partition_schema: str
    name: str


@dataclass(frozen=True, slots=True)
class Repartition:
    """The declared partition key differs from the database's (None: a plain table): refused, PostgreSQL
    cannot change it."""

    schema: str
    table: str
    old: str | None
    new: str


# -- functions, procedures and triggers (diff/routines.py) -------------------------------------
@dataclass(frozen=True, slots=True)
class CreateRoutine:
    routine: Routine


@dataclass(frozen=True, slots=True)
class ReplaceRoutine:
    """Same signature and result type: `CREATE OR REPLACE` keeps the routine (and what depends on it)."""

    routine: Routine  # the desired one
    old: Routine


@dataclass(frozen=True, slots=True)
class RecreateRoutine:
    """What `CREATE OR REPLACE` refuses (another result type, renamed or defaulted parameters): drop, create."""

    routine: Routine
    old: Routine


@dataclass(frozen=True, slots=True)
class DropRoutine:
    routine: Routine  # the live one
    replaced: bool = False  # the models declare its name with another signature: its old version
    # set when it makes way for a change under it (diff/dependents.py): dropped early, before that change
    reason: str = ""
    recreated: bool = False  # with a reason: created again later in the transaction


@dataclass(frozen=True, slots=True)
class CreateTrigger:
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class RecreateTrigger:
    """A trigger's definition changed: dropped and created again in the same transaction."""

    trigger: Trigger
    old: Trigger


@dataclass(frozen=True, slots=True)
class AlterTriggerEnabled:
    trigger: Trigger  # the desired one; its `enabled` is what to set
    old_enabled: str


@dataclass(frozen=True, slots=True)
class DropTrigger:
    schema: str
    table: str
    name: str
    reason: str = ""  # set when it makes way for a change (diff/dependents.py); empty: pruned
    recreated: bool = True  # with a reason: created again after the change (not when it used a dropped column)


# -- row-level security (diff/security.py) -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class AlterRowSecurity:
    """ENABLE/DISABLE and FORCE/NO FORCE ROW LEVEL SECURITY on a table."""

    schema: str
    table: str
    enabled: bool
    forced: bool
    old_enabled: bool
    old_forced: bool


@dataclass(frozen=True, slots=True)
class CreatePolicy:
    policy: Policy


@dataclass(frozen=True, slots=True)
class AlterPolicy:
    """Roles or expressions changed, the command and kind kept: ALTER POLICY, the policy never missing."""

    policy: Policy
    old: Policy


@dataclass(frozen=True, slots=True)
class RecreatePolicy:
    """What ALTER POLICY cannot do (another command, permissive <-> restrictive, a clause removed)."""

    policy: Policy
    old: Policy


@dataclass(frozen=True, slots=True)
class DropPolicy:
    schema: str
    table: str
    name: str
    reason: str = ""  # set when it makes way for a change (diff/dependents.py); empty: pruned
    recreated: bool = True  # with a reason: created again after the change (not when it used a dropped column)


# -- privileges (diff/grants.py) ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GrantPrivilege:
    grant: Grant


@dataclass(frozen=True, slots=True)
class RevokePrivilege:
    grant: Grant  # the live one
    grant_option_only: bool = False  # keep the privilege, take away WITH GRANT OPTION
    # a routine re-created around a change gets PUBLIC's default EXECUTE back: taken away again, as it was
    restores: bool = False


# -- comments and owners (diff/comments.py, diff/owners.py) -------------------------------------
@dataclass(frozen=True, slots=True)
class AlterComment:
    """COMMENT ON a view, materialized view, domain, composite type, function, procedure, trigger or policy."""

    kind: Literal["view", "materialized view", "domain", "type", "function", "procedure", "trigger", "policy"]
    schema: str
    name: str
    table: str  # a trigger's or a policy's table; "" otherwise
    arguments: str  # a routine's argument types; "" otherwise
    comment: str | None  # None: IS NULL


@dataclass(frozen=True, slots=True)
class AlterOwner:
    """ALTER <kind> ... OWNER TO the role of the `owner` setting."""

    kind: Literal["schema", "table", "view", "materialized view", "sequence", "type", "domain", "function", "procedure"]
    schema: str
    name: str  # "" for a schema
    arguments: str  # a routine's argument types; "" otherwise
    owner: str
    old_owner: str | None  # None: the object is created (or re-created) by the same plan


@dataclass(frozen=True, slots=True)
class CreateRange:
    range: RangeType


@dataclass(frozen=True, slots=True)
class RecreateRange:
    """A range type whose definition changed: PostgreSQL cannot alter one, so it is dropped and created, which
    only works while nothing uses it; `uses` are the columns that do (schema, table, column), and with any
    the plan refuses rather than fail half-way."""

    range: RangeType
    old: RangeType
    uses: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class DropRange:
    schema: str
    name: str


@dataclass(frozen=True, slots=True)
class GrantDefaultPrivilege:
    default: DefaultPrivilege


@dataclass(frozen=True, slots=True)
class RevokeDefaultPrivilege:
    default: DefaultPrivilege  # the live one
    grant_option_only: bool = False


Change = (
    CreateSchema
    | CreateTable
    | DropTable
    | RenameTable
    | AlterTableComment
    | AddColumn
    | DropColumn
    | RenameColumn
    | AlterColumnType
    | AlterColumnNullability
    | AlterColumnDefault
    | AlterColumnIdentity
    | AlterColumnGenerated
    | AlterColumnComment
    | AddPrimaryKey
    | DropPrimaryKey
    | AddUnique
    | DropUnique
    | AddForeignKey
    | DropForeignKey
    | AddCheck
    | DropCheck
    | ValidateConstraint
    | RenameConstraint
    | CreateIndex
    | DropIndex
    | RenameIndex
    | CreateEnum
    | AddEnumValue
    | RecreateEnum
    | AlterEnumComment
    | DropEnum
    | CreateSequence
    | AlterSequence
    | RenameSequence
    | DropSequence
    | CreateView
    | ReplaceView
    | DropView
    | CreateExtension
    | UpdateExtension
    | DropExtension
    | CreateDomain
    | RecreateDomain
    | AlterDomainDefault
    | AlterDomainNullability
    | AddDomainCheck
    | DropDomainCheck
    | DropDomain
    | CreateComposite
    | AlterComposite
    | RecreateComposite
    | DropComposite
    | AddExclusion
    | DropExclusion
    | AlterTablePersistence
    | AlterTableOptions
    | AlterIndexOptions
    | CreatePartition
    | AttachPartition
    | DetachPartition
    | DropPartition
    | Repartition
    | CreateRoutine
    | ReplaceRoutine
    | RecreateRoutine
    | DropRoutine
    | CreateTrigger
    | RecreateTrigger
    | AlterTriggerEnabled
    | DropTrigger
    | AlterRowSecurity
    | CreatePolicy
    | AlterPolicy
    | RecreatePolicy
    | DropPolicy
    | GrantPrivilege
    | RevokePrivilege
    | AlterComment
    | AlterOwner
    | GrantDefaultPrivilege
    | RevokeDefaultPrivilege
    | CreateRange
    | RecreateRange
    | DropRange
)


def table_of(change: Change) -> tuple[str, str] | None:
    """The (schema, table) a change touches, for grouping; None for schema-wide objects."""
    match change:
        case CreateTable(table=t):
            return t.key
        case DropTable(schema=s, name=n):
            return (s, n)
        case RenameTable(schema=s, new=n):
            return (s, n)
        case (
            AlterTableComment(schema=s, table=t)
            | AddColumn(schema=s, table=t)
            | DropColumn(schema=s, table=t)
            | RenameColumn(schema=s, table=t)
            | AlterColumnType(schema=s, table=t)
            | AlterColumnNullability(schema=s, table=t)
            | AlterColumnDefault(schema=s, table=t)
            | AlterColumnIdentity(schema=s, table=t)
            | AlterColumnGenerated(schema=s, table=t)
            | AlterColumnComment(schema=s, table=t)
            | AddPrimaryKey(schema=s, table=t)
            | DropPrimaryKey(schema=s, table=t)
            | AddUnique(schema=s, table=t)
            | DropUnique(schema=s, table=t)
            | AddForeignKey(schema=s, table=t)
            | DropForeignKey(schema=s, table=t)
            | AddCheck(schema=s, table=t)
            | DropCheck(schema=s, table=t)
            | ValidateConstraint(schema=s, table=t)
            | RenameConstraint(schema=s, table=t)
            | CreateIndex(schema=s, table=t)
            | DropIndex(schema=s, table=t)
            | RenameIndex(schema=s, table=t)
            | AddExclusion(schema=s, table=t)
            | DropExclusion(schema=s, table=t)
            | AlterTablePersistence(schema=s, table=t)
            | AlterTableOptions(schema=s, table=t)
            | AlterIndexOptions(schema=s, table=t)
            | CreatePartition(schema=s, table=t)
            | AttachPartition(schema=s, table=t)
            | DetachPartition(schema=s, table=t)
            | DropPartition(schema=s, table=t)
            | Repartition(schema=s, table=t)
        ):
            return (s, t)
        case CreateTrigger(trigger=trigger) | RecreateTrigger(trigger=trigger) | AlterTriggerEnabled(trigger=trigger):
            return (trigger.schema, trigger.table)
        case CreatePolicy(policy=policy) | AlterPolicy(policy=policy) | RecreatePolicy(policy=policy):
            return (policy.schema, policy.table)
        case DropTrigger(schema=s, table=t) | DropPolicy(schema=s, table=t) | AlterRowSecurity(schema=s, table=t):
            return (s, t)
        case _:
            return None


def change_to_dict(change: Change) -> dict[str, object]:
    """JSON-ready form: the class name as `change`, then the fields (nested values as dicts)."""
    return {"change": type(change).__name__, **asdict(change)}
