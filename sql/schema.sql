-- flashsale schema (MariaDB 10.11, InnoDB, utf8mb4). Idempotent: safe to load
-- on every start. Times are milliseconds since the Unix epoch, money cents.

CREATE TABLE IF NOT EXISTS items (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name          VARCHAR(128) NOT NULL,
  title         VARCHAR(256) NOT NULL DEFAULT '',
  description   TEXT NOT NULL,
  price_cents   BIGINT NOT NULL,
  stock         INT NOT NULL,                 -- units not locked into any sale
  images        TEXT NOT NULL,                -- JSON array of URLs
  created_ms    BIGINT NOT NULL,
  updated_ms    BIGINT NOT NULL,
  CHECK (stock >= 0), CHECK (price_cents >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS activities (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name          VARCHAR(128) NOT NULL,
  description   TEXT NOT NULL,
  start_ms      BIGINT NOT NULL,
  end_ms        BIGINT NOT NULL,
  status        ENUM('draft','published','ended') NOT NULL DEFAULT 'draft',
  created_ms    BIGINT NOT NULL,
  updated_ms    BIGINT NOT NULL,
  created_by    VARCHAR(64) NOT NULL DEFAULT 'admin',
  reviewed_by   VARCHAR(64) NULL,
  warmed_ms     BIGINT NULL,                  -- last warmup into Redis
  challenge     ENUM('none','pow','quiz') NOT NULL DEFAULT 'none', -- asked before the secret
  pow_bits      TINYINT UNSIGNED NOT NULL DEFAULT 18,              -- pow: leading zero bits
  KEY by_status_start (status, start_ms),
  KEY by_status_end (status, end_ms),
  CHECK (end_ms > start_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS activity_items (
  activity_id       BIGINT UNSIGNED NOT NULL,
  item_id           BIGINT UNSIGNED NOT NULL,
  flash_price_cents BIGINT NOT NULL,
  alloc_stock       INT NOT NULL,             -- units given to the sale (fixed)
  stock             INT NOT NULL,             -- units MySQL has not yet sold
  per_user_limit    INT NOT NULL,
  PRIMARY KEY (activity_id, item_id),
  KEY by_item (item_id),
  CONSTRAINT fk_ai_activity FOREIGN KEY (activity_id) REFERENCES activities (id),
  CONSTRAINT fk_ai_item FOREIGN KEY (item_id) REFERENCES items (id),
  CHECK (stock >= 0), CHECK (stock <= alloc_stock)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- No foreign key to users: tokens from an outside identity provider are valid
-- identities too (API.md "Identity").
CREATE TABLE IF NOT EXISTS orders (
  id              BIGINT UNSIGNED NOT NULL PRIMARY KEY,  -- snowflake: a replay is a no-op
  user_id         BIGINT UNSIGNED NOT NULL,
  activity_id     BIGINT UNSIGNED NOT NULL,
  item_id         BIGINT UNSIGNED NOT NULL,
  quantity        INT NOT NULL,
  amount_cents    BIGINT NOT NULL,
  status          ENUM('unpaid','paid','closed','cancelled','failed') NOT NULL,
  created_ms      BIGINT NOT NULL,
  pay_deadline_ms BIGINT NOT NULL,
  updated_ms      BIGINT NOT NULL,
  -- 1 while the order holds stock, NULL after: NULLs never collide, so the
  -- unique key allows one live order per user per activity item
  live            TINYINT NULL DEFAULT 1,
  UNIQUE KEY one_live (activity_id, item_id, user_id, live),
  KEY by_user (user_id, created_ms),
  KEY by_user_activity (user_id, activity_id, status),
  KEY by_status_deadline (status, pay_deadline_ms),
  KEY by_item_status (activity_id, item_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS users (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username    VARCHAR(64) NOT NULL,
  pw_hash     VARCHAR(255) NOT NULL,            -- libsodium crypto_pwhash_str (argon2id)
  created_ms  BIGINT NOT NULL,
  UNIQUE KEY by_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payments (
  id            BIGINT UNSIGNED NOT NULL PRIMARY KEY,  -- snowflake, sent as a string
  order_id      BIGINT UNSIGNED NOT NULL,
  user_id       BIGINT UNSIGNED NOT NULL,
  amount_cents  BIGINT NOT NULL,
  status        ENUM('created','success','fail','late') NOT NULL DEFAULT 'created',
  created_ms    BIGINT NOT NULL,
  updated_ms    BIGINT NOT NULL,
  notify_ts_ms  BIGINT NULL,
  KEY by_order (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Refunds of late payments (docs/GUARD-REFUND.md; owner lib/db_refund.c).
-- A payment `late` owes a refund; this row is the refund job's progress on
-- it: claimed for a lease by one job at a time, done with the provider's
-- refund_id, written once.
CREATE TABLE IF NOT EXISTS refunds (
  payment_id     BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  order_id       BIGINT UNSIGNED NOT NULL,
  amount_cents   BIGINT NOT NULL,
  state          ENUM('pending','done') NOT NULL DEFAULT 'pending',
  refund_id      VARCHAR(64) NULL,                      -- the provider's, once done
  claim_until_ms BIGINT NOT NULL DEFAULT 0,             -- a job's lease on the call
  attempts       INT NOT NULL DEFAULT 0,                -- provider calls claimed
  created_ms     BIGINT NOT NULL,
  done_ms        BIGINT NULL,
  KEY by_state_claim (state, claim_until_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The sandbox provider's own book: one refund per payment however often it
-- is asked (calls counts the asks).
CREATE TABLE IF NOT EXISTS sandbox_refunds (
  payment_id    BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  refund_id     VARCHAR(64) NOT NULL,
  amount_cents  BIGINT NOT NULL,
  calls         INT NOT NULL DEFAULT 1,
  created_ms    BIGINT NOT NULL,
  updated_ms    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- late payments by user (a user's order list) and all of them (the refund
-- job): a few rows, never a scan of every payment
ALTER TABLE payments ADD INDEX IF NOT EXISTS by_status_user (status, user_id);

-- Columns added after a database was first made (CREATE TABLE IF NOT EXISTS
-- leaves an existing table as it is): no-ops on a fresh one.
ALTER TABLE activities
  ADD COLUMN IF NOT EXISTS challenge ENUM('none','pow','quiz') NOT NULL DEFAULT 'none',
  ADD COLUMN IF NOT EXISTS pow_bits TINYINT UNSIGNED NOT NULL DEFAULT 18;

-- Sale rules against scalpers (docs/GUARD-RULES.md; owner lib/db_guard.c).
-- One row per activity created with "rules"; no row means every rule is off.
CREATE TABLE IF NOT EXISTS activity_rules (
  activity_id        BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  min_account_age_s  BIGINT NOT NULL DEFAULT 0,   -- 0: off
  max_orders_per_ip  BIGINT NOT NULL DEFAULT 0,   -- 0: off
  CONSTRAINT fk_rules_activity FOREIGN KEY (activity_id) REFERENCES activities (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The admin blocklist (the truth; Redis and the programs keep copies).
CREATE TABLE IF NOT EXISTS blocklist (
  kind        ENUM('user','ip') NOT NULL,
  value       VARCHAR(64) NOT NULL,            -- decimal user id, or a normalized address
  created_ms  BIGINT NOT NULL,
  PRIMARY KEY (kind, value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Bumped in the transaction of every blocklist change: a program's copy of
-- the list older than this is stale.
CREATE TABLE IF NOT EXISTS blocklist_version (
  id       TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  version  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Red-packet rains (docs/RAIN.md; owner lib/db_rain.c). A rain's pot is cut
-- into packets at publish; a packet's id is the grab id of whoever takes it.
CREATE TABLE IF NOT EXISTS rains (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name         VARCHAR(128) NOT NULL,
  total_cents  BIGINT NOT NULL,
  packets      INT NOT NULL,
  start_ms     BIGINT NOT NULL,
  end_ms       BIGINT NOT NULL,
  status       ENUM('draft','published') NOT NULL DEFAULT 'draft',
  created_ms   BIGINT NOT NULL,
  KEY by_status_end (status, end_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS rain_packets (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,  -- the grab id
  rain_id       BIGINT UNSIGNED NOT NULL,
  seq           INT NOT NULL,
  amount_cents  BIGINT NOT NULL,
  UNIQUE KEY by_rain_seq (rain_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- one row a credited grab: the grab id makes a replay a no-op, and a user
-- holds one packet per rain
CREATE TABLE IF NOT EXISTS wallet_entries (
  grab_id       BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  user_id       BIGINT UNSIGNED NOT NULL,
  rain_id       BIGINT UNSIGNED NOT NULL,
  amount_cents  BIGINT NOT NULL,
  created_ms    BIGINT NOT NULL,
  credited_ms   BIGINT NOT NULL,
  UNIQUE KEY one_per_user (rain_id, user_id),
  KEY by_user (user_id, created_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- sharded stock (docs/SHARDS.md): the item's Redis stock split over this many keys
ALTER TABLE activity_items ADD COLUMN IF NOT EXISTS shards INT NOT NULL DEFAULT 1;
