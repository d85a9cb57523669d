CREATE TABLE public.orders (id serial PRIMARY KEY, status varchar(10) NOT NULL, amount integer NOT NULL);
INSERT INTO public.orders (status, amount) VALUES ('paid', 50), ('paid', 150), ('new', 5);
CREATE VIEW public.paid_orders AS SELECT id, status, amount FROM public.orders WHERE status <> 'new';
CREATE VIEW public.big_paid AS SELECT id, amount FROM public.paid_orders WHERE amount > 100;
CREATE MATERIALIZED VIEW public.totals AS SELECT status, sum(amount) AS total FROM public.paid_orders GROUP BY status;
CREATE UNIQUE INDEX ix_totals_status ON public.totals (status);
CREATE VIEW public.hand_made AS SELECT id, amount FROM public.orders;
