CREATE TABLE docs (id serial PRIMARY KEY, "Title" text, secret text);
CREATE TABLE notes (id integer PRIMARY KEY);
GRANT SELECT ON docs TO PUBLIC;
GRANT SELECT (id) ON docs TO PUBLIC;
GRANT UPDATE (id) ON notes TO PUBLIC;
