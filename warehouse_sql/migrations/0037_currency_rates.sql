-- Currency rates, per org, as Salesforce keeps them: each org's rates are relative to
-- its own corporate currency (whose rate is 1). Static rates (CurrencyType) apply at
-- any date; with advanced currency management, dated rates (DatedConversionRate) apply
-- from start_date until the day before next_start_date. Staging copies each org's
-- Connect rate tables here (source 'connect'); `org360 rates load` adds rates for orgs
-- that sync none (source 'file').
CREATE TABLE org360.currency_rate (
    org              varchar(40) NOT NULL,
    source           varchar(8)  NOT NULL CHECK (source IN ('connect', 'file')),
    isocode          char(3)     NOT NULL,
    dated            boolean     NOT NULL,
    -- A static rate spans every date.
    start_date       date        NOT NULL DEFAULT '-infinity',
    next_start_date  date        NOT NULL DEFAULT 'infinity',
    rate             numeric     NOT NULL CHECK (rate > 0),
    is_corporate     boolean     NOT NULL DEFAULT false,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org, source, isocode, dated, start_date)
);

-- The rate of `code` in `org` on `day`: the org's own (Connect) rates before a file's,
-- a dated rate in force that day before the static one. NULL when there is none.
CREATE FUNCTION org360.rate_on(p_org text, p_code text, p_day date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT rate FROM org360.currency_rate
    WHERE org = p_org AND isocode = p_code
      AND (NOT dated OR (coalesce(p_day, CURRENT_DATE) >= start_date
                         AND coalesce(p_day, CURRENT_DATE) < next_start_date))
    ORDER BY source = 'connect' DESC, dated DESC
    LIMIT 1
$$;
