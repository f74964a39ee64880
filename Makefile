# troupe: a thin wrapper over meson. `make run` and `make test` are all a
# new machine needs; both install missing Debian packages first.
BUILD     ?= build
SANBUILD  ?= build-san
FUZZBUILD ?= build-fuzz
DEBBUILD  ?= build-deb
PREFIX    ?= /usr/local
FUZZ_SECONDS ?= 300
SOAK_SECONDS ?= 600
RUN_ARGS  ?=

.PHONY: all deps build run test test-quick bench fuzz soak install deb clean format

all: build

deps:
	@./scripts/deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized -Dwerror=true

$(SANBUILD)/build.ninja:
	meson setup $(SANBUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) --buildtype=debugoptimized -Dfuzz=true -Db_lundef=false

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: deps build
	./scripts/run-dev $(BUILD) $(RUN_ARGS)

test: deps $(BUILD)/build.ninja $(SANBUILD)/build.ninja $(FUZZBUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(SANBUILD)
	ninja -C $(FUZZBUILD) fuzz-targets
	./tests/run $(BUILD) $(SANBUILD) $(FUZZBUILD)

bench: deps build
	./bench/run $(BUILD)

fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD) fuzz-targets
	./tests/fuzz/run $(FUZZBUILD) $(FUZZ_SECONDS)

# agents in namespaces under kills, freezes, partitions and loss while a
# writer registers, deletes and overwrites; needs root
soak: deps build
	./tests/soak/soak.sh $(SOAK_SECONDS)

install: build
	meson install -C $(BUILD) --destdir "$(DESTDIR)"
	./scripts/install-user

# troupe_VERSION_ARCH.deb here: a release build with Debian's hardening
# flags in $(DEBBUILD), prefix /usr (scripts/make-deb says what goes in)
deb: deps
	./scripts/make-deb $(DEBBUILD) .

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD) $(DEBBUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
