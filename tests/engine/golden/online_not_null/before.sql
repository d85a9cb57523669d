CREATE TABLE users (id serial PRIMARY KEY, email text, name text);
INSERT INTO users (email, name) SELECT 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 50) g;
ANALYZE users;
