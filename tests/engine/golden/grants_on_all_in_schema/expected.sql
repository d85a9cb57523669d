BEGIN;
CREATE TABLE "Sales"."Order.lines" (
    "id" serial NOT NULL,
    CONSTRAINT "Order.lines_pkey" PRIMARY KEY ("id")
);
GRANT USAGE ON SEQUENCE "Sales"."Order.lines_id_seq" TO PUBLIC;
GRANT USAGE ON SEQUENCE "Sales"."orders_id_seq" TO PUBLIC;
GRANT INSERT ON TABLE "Sales"."Order.lines" TO PUBLIC;
GRANT SELECT ON TABLE "Sales"."Order.lines" TO PUBLIC;
GRANT INSERT ON TABLE "Sales"."orders" TO PUBLIC;
COMMIT;
