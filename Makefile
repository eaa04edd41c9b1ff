# flashsale: one plain Makefile. `make run` and `make test` are all a new
# machine needs (as root on Debian 12); see README.md.

CC      ?= cc
OPT     ?= -O2
SAN     ?= 0
PKGS    := fcgi hiredis libmariadb libzmq json-c libcrypto libsodium
WARN    := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
DEFS    := -D_GNU_SOURCE

ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     := -O1 -g
else
BUILD   ?= build/rel
SANFLAGS :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(OPT) -g $(WARN) $(DEFS) $(SANFLAGS) -Ilib $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -pthread

# the shared core, one file a line (several people add to it)
LIB_SRC :=
LIB_SRC += lib/fs.c
LIB_SRC += lib/log.c
LIB_SRC += lib/mem.c
LIB_SRC += lib/text.c
LIB_SRC += lib/conf.c
LIB_SRC += lib/conf_keys.c
LIB_SRC += lib/hmac.c
LIB_SRC += lib/codec.c
LIB_SRC += lib/jwt.c
LIB_SRC += lib/snowflake.c
LIB_SRC += lib/req.c
LIB_SRC += lib/jx.c
LIB_SRC += lib/reply.c
LIB_SRC += lib/route.c
LIB_SRC += lib/app.c
LIB_SRC += lib/metrics.c
LIB_SRC += lib/kv.c
LIB_SRC += lib/kv_handler.c
LIB_SRC += lib/kv_slot.c
LIB_SRC += lib/kv_cluster.c
LIB_SRC += lib/db.c
LIB_SRC += lib/db_nodes.c
LIB_SRC += lib/orderq.c
LIB_SRC += lib/orderbatch.c
LIB_SRC += lib/order.c
LIB_SRC += lib/order_secret.c
LIB_SRC += lib/clientip.c
LIB_SRC += lib/ratelimit.c
LIB_SRC += lib/kv_user.c
LIB_SRC += lib/db_user.c
LIB_SRC += lib/render.c
LIB_SRC += lib/kv_sale.c
LIB_SRC += lib/kv_shard.c
LIB_SRC += lib/kv_order.c
LIB_SRC += lib/db_sale.c
LIB_SRC += lib/warm.c
LIB_SRC += lib/persist.c
LIB_SRC += lib/idgen.c
LIB_SRC += lib/db_order.c
LIB_SRC += lib/db_admin.c
LIB_SRC += lib/db_payment.c
LIB_SRC += lib/paynotify.c
LIB_SRC += lib/lifecycle.c
LIB_SRC += lib/queued.c
LIB_SRC += lib/kv_lifecycle.c
LIB_SRC += lib/kv_journal.c
LIB_SRC += lib/rebuild.c
LIB_SRC += lib/stats.c
LIB_SRC += lib/pub.c
LIB_SRC += lib/pushhub.c
LIB_SRC += lib/pushhub_conn.c
LIB_SRC += lib/pushhub_msg.c
LIB_SRC += lib/pushhub_users.c
LIB_SRC += lib/pushhub_stats.c
LIB_SRC += lib/daemon.c
LIB_SRC += lib/breaker.c
LIB_SRC += lib/shed.c
LIB_SRC += lib/refund.c
LIB_SRC += lib/db_refund.c
LIB_SRC += lib/provider.c
LIB_SRC += lib/challenge.c
LIB_SRC += lib/challenge_png.c
LIB_SRC += lib/kv_challenge.c
# the sale rules against scalpers (docs/GUARD-RULES.md)
LIB_SRC += lib/db_guard.c lib/kv_guard.c lib/guard.c
LIB_SRC += lib/rain.c
LIB_SRC += lib/rain_split.c
LIB_SRC += lib/kv_rain.c
LIB_SRC += lib/db_rain.c
LIB_SRC += lib/rain_credit.c
LIB_SRC += lib/rain_warm.c
# the FastCGI endpoints, one program each: cgi-bin/NAME.c, or for a program
# made of several files every cgi-bin/NAME/*.c (CGI_MULTI)
CGI     := detail admin place_order order_status pay user ops trivial rain
CGI_MULTI := admin detail place_order rain
# daemons and cron jobs
MQ      := order_handler push_hub
CRON    := warmup expire reconcile refund
UNIT    := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA    := $(BUILD)/lib/libflash.a
BINS    := $(CGI:%=$(BUILD)/bin/%) $(MQ:%=$(BUILD)/bin/%) $(CRON:%=$(BUILD)/bin/%)
UNITBINS := $(UNIT:%=$(BUILD)/tests/%)

.SECONDARY:
.PHONY: all deps run stop cluster promote test unit bench bench-cluster bench-topology fuzz clean
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo '  CC    $<'
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo '  AR    $@'
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/cgi-bin/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo '  LD    $@'
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
# one rule for every program made of several files
define multi_prog
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard cgi-bin/$(1)/*.c)) $(LIBA)
	@mkdir -p $$(dir $$@)
	@echo '  LD    $$@'
	@$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@
endef
$(foreach p,$(CGI_MULTI),$(eval $(call multi_prog,$(p))))
# libgd (the quiz image) only where it is drawn
$(BUILD)/bin/detail $(BUILD)/tests/test_challenge: LDLIBS += -lgd
$(BUILD)/bin/%: $(BUILD)/mq/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo '  LD    $@'
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bin/%: $(BUILD)/cron/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo '  LD    $@'
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
# only the refund job talks to the payment provider (lib/provider.c, libcurl)
$(BUILD)/bin/refund: LDLIBS += $(shell pkg-config --libs libcurl 2>/dev/null)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo '  LD    $@'
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

unit: $(UNITBINS)

# libFuzzer targets (clang only): the core built with -fsanitize=fuzzer-no-link
# in build/fuzz, each tests/fuzz/fuzz_*.c linked with -fsanitize=fuzzer;
# tests/fuzz/run.sh builds and runs them
FUZZ    := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZSAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
fuzz:
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz SAN=1 SANFLAGS='$(FUZZSAN)' \
		$(FUZZ:%=build/fuzz/fuzz/%)
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo '  LD    $@'
	@$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# install the Debian packages that are missing (no-op when all are there)
deps:
	@scripts/deps.sh

run: deps
	$(MAKE) all
	FLASH_CRON=1 scripts/flashctl start var
	scripts/flashctl demo var

stop:
	scripts/flashctl stop var
	@if [ -f var/haproxy.cfg ]; then scripts/cluster.sh stop var; fi

# the scale-out topology on one machine (API.md "Scale-out"): Redis Cluster,
# MariaDB primary + replica, 2 order handlers, 2 web nodes, HAProxy in front
cluster: deps
	$(MAKE) all
	FLASH_CRON=1 scripts/cluster.sh start var
	scripts/flashctl demo var

# the MariaDB replica becomes the primary (after the primary died)
promote:
	scripts/cluster.sh promote var

# its own stack on free ports in a temporary folder, sanitizer build
test: deps
	$(MAKE) SAN=1 all unit
	tests/run.sh build/san

bench: deps
	$(MAKE) all
	tests/bench/run.sh build/rel

# the bench on one Redis, then on a Redis Cluster, and their ratios
bench-cluster: deps
	$(MAKE) all
	tests/bench/cluster.sh build/rel

# the bench on one node, then through the whole topology (HAProxy, 2 web
# nodes, Redis Cluster, MariaDB primary + replica), and their ratios
bench-topology: deps
	$(MAKE) all
	tests/bench/topology.sh build/rel

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d)
