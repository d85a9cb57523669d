BEGIN;
CREATE TABLE "public"."orders" (
    "id" serial NOT NULL,
    "total" numeric NOT NULL,
    "updated_at" timestamp with time zone,
    CONSTRAINT "orders_pkey" PRIMARY KEY ("id")
);
CREATE OR REPLACE FUNCTION public.order_total(p_id integer)
 RETURNS numeric
 LANGUAGE sql
 STABLE
AS $function$SELECT total FROM orders WHERE id = p_id$function$;
CREATE OR REPLACE PROCEDURE public.purge(IN older_than integer)
 LANGUAGE sql
AS $procedure$ DELETE FROM orders WHERE id < older_than $procedure$;
CREATE OR REPLACE FUNCTION public.touch()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$ BEGIN NEW.updated_at := now(); RETURN NEW; END $function$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch();
COMMIT;
