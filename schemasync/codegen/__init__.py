"""`schemasync introspect`: model code written from a live database.

`generator.py` runs sqlacodegen on SQLAlchemy's reflection (the one place schemasync uses reflection)
and puts right what it gets wrong from our own inspection; `declarative.py` is the sqlacodegen
generator taught exclusion constraints, table keywords, domain and composite columns;
`declarations.py` writes the kinds sqlacodegen does not (extensions, domains, composite types,
partitions, views) as the DDL events the engine manages.
"""

from schemasync.codegen.generator import introspect

__all__ = ["introspect"]
