CREATE TABLE authors (id serial PRIMARY KEY, name text);
CREATE TABLE books (id serial PRIMARY KEY, author_id integer, pages integer);
INSERT INTO authors (name) SELECT 'author ' || g FROM generate_series(1, 10) g;
INSERT INTO books (author_id, pages) SELECT 1 + g % 10, 100 + g FROM generate_series(1, 50) g;
ANALYZE authors;
ANALYZE books;
