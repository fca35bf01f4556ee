-- The restpg demo database. Loading it again resets it: every object is dropped and recreated.
--
-- Roles (cluster-wide, created only when missing): `authenticator` is the login role restpg connects as,
-- `anonymous` the role every request without a token runs as (PostgREST's db-anon-role).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anonymous') THEN
    CREATE ROLE anonymous NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT;
  END IF;
  -- Also whoever loads this file, so that a server given by --db-uri can switch to `anonymous`.
  EXECUTE format('GRANT anonymous TO authenticator, %I', current_user);
END
$$;

DROP TABLE IF EXISTS public.book_tags, public.tags, public.books, public.authors, public.playing_with_neon CASCADE;

-- The table from Neon's Data API getting-started guide, with fixed values instead of random() ones.
CREATE TABLE public.playing_with_neon (
  id serial PRIMARY KEY,
  name text NOT NULL,
  value real
);

INSERT INTO public.playing_with_neon (name, value)
SELECT substr(md5(i::text), 1, 10), v
FROM unnest(ARRAY[0.12, 0.94, 0.37, 0.5, 0.73, 0.05, 0.61, 0.28, 0.99, 0.44]::real[]) WITH ORDINALITY AS t (v, i);

-- A small library: authors have books (one-to-many), books have tags (many-to-many through book_tags).
CREATE TABLE public.authors (
  id int PRIMARY KEY,
  name text NOT NULL,
  country text
);

CREATE TABLE public.books (
  id int PRIMARY KEY,
  title text NOT NULL,
  author_id int REFERENCES public.authors (id),
  published int,
  rating numeric(2, 1)
);

CREATE TABLE public.tags (
  id int PRIMARY KEY,
  name text NOT NULL UNIQUE
);

CREATE TABLE public.book_tags (
  book_id int REFERENCES public.books (id),
  tag_id int REFERENCES public.tags (id),
  PRIMARY KEY (book_id, tag_id)
);

INSERT INTO public.authors (id, name, country) VALUES
  (1, 'Ursula K. Le Guin', 'US'),
  (2, 'Stanisław Lem', 'PL'),
  (3, 'Octavia E. Butler', 'US');

INSERT INTO public.books (id, title, author_id, published, rating) VALUES
  (1, 'The Left Hand of Darkness', 1, 1969, 4.5),
  (2, 'The Dispossessed', 1, 1974, 4.6),
  (3, 'Solaris', 2, 1961, 4.2),
  (4, 'The Cyberiad', 2, 1965, 4.4),
  (5, 'Kindred', 3, 1979, 4.7);

INSERT INTO public.tags (id, name) VALUES (1, 'classic'), (2, 'sci-fi'), (3, 'satire');

INSERT INTO public.book_tags (book_id, tag_id) VALUES (1, 1), (1, 2), (2, 2), (3, 1), (3, 2), (4, 3), (5, 1);

GRANT USAGE ON SCHEMA public TO anonymous;
GRANT SELECT ON public.playing_with_neon, public.authors, public.books, public.tags, public.book_tags TO anonymous;

ANALYZE public.playing_with_neon, public.authors, public.books, public.tags, public.book_tags;

-- Tell a running restpg (or PostgREST) to reload its schema cache.
NOTIFY pgrst, 'reload schema';
