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

-- sharded stock (docs/SHARDS.md): the item's Redis stock split over this many keys
ALTER TABLE activity_items ADD COLUMN IF NOT EXISTS shards INT NOT NULL DEFAULT 1;
