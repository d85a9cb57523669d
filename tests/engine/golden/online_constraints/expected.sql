BEGIN;
ALTER TABLE "public"."books" ADD CONSTRAINT "ck_books_pages" CHECK ((pages > 0)) NOT VALID;
ALTER TABLE "public"."books" ADD CONSTRAINT "fk_books_author" FOREIGN KEY ("author_id") REFERENCES "public"."authors" ("id") NOT VALID;
COMMIT;
-- DATA_DEPENDENT: books has 0 rows violating check ck_books_pages: fix them first
-- CORRECTNESS: validates ck_books_pages after the transaction commits (reads and writes go on); if it fails, the constraint stays NOT VALID (still enforced for new rows) and the run fails
ALTER TABLE "public"."books" VALIDATE CONSTRAINT "ck_books_pages";
-- DATA_DEPENDENT: books has 0 rows pointing at missing authors rows (foreign key fk_books_author): fix or remove them first
-- CORRECTNESS: validates fk_books_author after the transaction commits (reads and writes go on); if it fails, the constraint stays NOT VALID (still enforced for new rows) and the run fails
ALTER TABLE "public"."books" VALIDATE CONSTRAINT "fk_books_author";
