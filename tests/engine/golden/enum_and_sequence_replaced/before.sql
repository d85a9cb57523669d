CREATE TYPE old_kind AS ENUM ('a');
CREATE SEQUENCE old_seq;
