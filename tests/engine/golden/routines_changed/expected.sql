BEGIN;
-- CORRECTNESS: drops function public.with_tax(numeric): the models declare with_tax with other arguments only; callers of this one fail
DROP FUNCTION "public"."with_tax"(numeric);
CREATE OR REPLACE PROCEDURE public.note(IN msg text)
 LANGUAGE plpgsql
AS $procedure$ BEGIN RAISE NOTICE '$$ %', msg; END $procedure$;
-- CORRECTNESS: drops and creates function public.order_count(): its result type or parameters change, which CREATE OR REPLACE cannot do; the drop fails (and nothing changes) if triggers, defaults, checks or views use it
DROP FUNCTION "public"."order_count"();
CREATE OR REPLACE FUNCTION public.order_count()
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$SELECT count(*) FROM orders$function$;
CREATE OR REPLACE FUNCTION public.reject_negative()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$ BEGIN RAISE EXCEPTION 'negative total'; END $function$;
CREATE OR REPLACE FUNCTION public.touch()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $function$;
CREATE OR REPLACE FUNCTION public.with_tax(amount numeric, rate numeric DEFAULT 0.2)
 RETURNS numeric
 LANGUAGE sql
 IMMUTABLE
AS $function$ SELECT amount * (1 + rate) $function$;
CREATE TRIGGER orders_total_positive BEFORE INSERT ON public.orders FOR EACH ROW WHEN ((new.total < (0)::numeric)) EXECUTE FUNCTION public.reject_negative();
DROP TRIGGER "orders_touch" ON "public"."orders";
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch();
COMMIT;
