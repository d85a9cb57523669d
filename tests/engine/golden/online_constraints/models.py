"""Online, a foreign key and a check on existing tables are added NOT VALID and validated after the transaction."""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, MetaData, Table, Text

metadata = MetaData()
authors = Table("authors", metadata, Column("id", Integer, primary_key=True), Column("name", Text))
books = Table(
    "books",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("author_id", Integer, ForeignKey("authors.id", name="fk_books_author")),
    Column("pages", Integer),
    CheckConstraint("pages > 0", name="ck_books_pages"),
)
