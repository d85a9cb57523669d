CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON notes FOR SELECT USING (owner = current_user);
CREATE POLICY writers ON notes FOR ALL USING (true);
CREATE POLICY dba_rule ON notes FOR DELETE USING (false);
