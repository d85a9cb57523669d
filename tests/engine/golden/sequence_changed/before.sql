CREATE SEQUENCE ticket_no START WITH 1 INCREMENT BY 1;
SELECT nextval('ticket_no');
