CREATE TABLE public.orders (id serial PRIMARY KEY, status text NOT NULL, amount numeric(10,2) NOT NULL);
INSERT INTO public.orders (status, amount) VALUES ('paid', 50), ('paid', 150.25), ('new', 5);
CREATE VIEW public.paid AS SELECT id, status, amount FROM public.orders WHERE status <> 'new';
CREATE VIEW public.big_paid AS SELECT id, amount FROM public.paid WHERE amount > 100;
CREATE MATERIALIZED VIEW public.totals AS SELECT status, sum(amount) AS total FROM public.paid GROUP BY status;
CREATE UNIQUE INDEX totals_status ON public.totals (status);
CREATE FUNCTION public.total_amount() RETURNS numeric LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT sum(amount) FROM public.orders; END;
CREATE FUNCTION public.doubled(o public.orders) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN o.amount * 2;
CREATE FUNCTION public.over_total(x numeric) RETURNS boolean LANGUAGE sql STABLE RETURN x > public.total_amount();
CREATE FUNCTION public.amount_text(o public.orders) RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN o.amount::text; END$$;
CREATE VIEW public.with_total AS SELECT id, public.total_amount() AS total FROM public.orders;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER amount_changed BEFORE UPDATE OF amount ON public.orders
  FOR EACH ROW WHEN (NEW.amount > 0) EXECUTE FUNCTION public.touch();
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY small ON public.orders USING (amount < 1000000 AND NOT public.over_total(amount));
CREATE TABLE public.stats (id serial PRIMARY KEY, seen numeric DEFAULT public.total_amount());
COMMENT ON FUNCTION public.total_amount() IS 'every order';
COMMENT ON TRIGGER amount_changed ON public.orders IS 'audit';
COMMENT ON POLICY small ON public.orders IS 'caps';
COMMENT ON VIEW public.paid IS 'not new';
CREATE INDEX totals_total ON public.totals (total);
CREATE FUNCTION public.share(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN x / public.total_amount();
ALTER TABLE public.stats ADD CONSTRAINT seen_sane CHECK (seen IS NULL OR seen <= public.total_amount() * 10);
CREATE INDEX stats_share ON public.stats (public.share(seen));
