CREATE TABLE orgs (id serial PRIMARY KEY);
CREATE TABLE users (id serial PRIMARY KEY, org_id int,
    CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE);
INSERT INTO orgs DEFAULT VALUES;
INSERT INTO users (org_id) VALUES (1);
