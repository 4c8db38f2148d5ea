#!/usr/bin/env bash
# Runs every guest under tools/pvrun.py (needs Python 3 and the `unicorn`
# package) and checks its exact console output and exit status against
# the contract documented at the top of each guest's source.
# Prints "N passed, N failed"; skips (exit 0) when unicorn is missing.
set -u
cd "$(dirname "$0")/.."
if ! python3 -c 'import unicorn' 2>/dev/null; then
  echo "tools/test.sh: python3 unicorn not installed; skipping guest runs"
  exit 0
fi
pass=0 fail=0
check() {  # name expected_status expected_output pvrun-args...
  local name=$1 want_rc=$2 want=$3; shift 3
  local got rc
  got=$(python3 tools/pvrun.py "$@" 2>/tmp/pvrun.$$.err); rc=$?
  if [[ $rc == "$want_rc" && $got == "$want" ]]; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name (exit $rc, want $want_rc)"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/     /'
    sed 's/^/     /' /tmp/pvrun.$$.err
  fi
  rm -f /tmp/pvrun.$$.err
}

check hello 0 'Hello from Xenoform!
start_info: magic=xen-3.0-x86_32p nr_pages=8192 cmdline=""' build/hello.elf

check hello-cmdline 0 'Hello from Xenoform!
start_info: magic=xen-3.0-x86_32p nr_pages=4096 cmdline="root=/dev/xvda1 quiet"' \
  build/hello.elf --memory 16 --cmdline 'root=/dev/xvda1 quiet'

check ticker-poweroff 0 'ticker: ready
tick 1
tick 2
tick 3
ticker: poweroff requested' build/ticker.elf --at 3.5:control/shutdown=poweroff

check ticker-reboot 3 'ticker: ready
tick 1
ticker: reboot requested' build/ticker.elf --at 1.5:control/shutdown=reboot

check ticker-suspend 0 'ticker: ready
tick 1
ticker: suspend requested
ticker: resumed
tick 2
ticker: poweroff requested' build/ticker.elf --at 1.5:control/shutdown=suspend \
  --at 3.2:control/shutdown=poweroff

check crash 1 'crash: writing to address 0 with no trap handler' build/crash.elf

check balloon 0 'balloon: reservation 8192 pages
balloon: target 32768 KiB, now 8192 pages
balloon: target 16384 KiB, now 4096 pages
balloon: target 65536 KiB, now 8192 pages
balloon: target 24000 KiB, now 6000 pages
balloon: poweroff requested' build/balloon.elf --at 1:memory/target=16384 \
  --at 2:memory/target=65536 --at 3:memory/target=24000 --at 4:control/shutdown=poweroff

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check blktest 0 'blktest: vbd 51712 8192 sectors, sector-size 512, rw, flush flush-cache
blktest: PASS wrote 974 sectors in 4 runs, flushed, read back, verified' \
  build/blktest.elf --disk "$tmp/a.img,size=4"

check blktest-ro 0 'blktest: vbd 51712 8192 sectors, sector-size 512, ro, flush flush-cache
blktest: PASS read-only: read 974 sectors, write refused' build/blktest.elf --disk "$tmp/a.img,ro"

check blktest-4k-barrier 0 'blktest: vbd 51712 16384 sectors, sector-size 4096, rw, flush barrier
blktest: PASS wrote 960 sectors in 4 runs, flushed, read back, verified' \
  build/blktest.elf --disk "$tmp/b.img,size=8,sector-size=4096,flush=barrier"

check blktest-write-cached 0 'blktest: vbd 51712 8192 sectors, sector-size 512, rw, flush flush-cache
blktest: PASS wrote 974 sectors in 4 runs, flushed' \
  build/blktest.elf --disk "$tmp/c.img,size=4,cache" --cmdline 'seed=42 mode=write'

check blktest-verify-after-power-cut 0 'blktest: vbd 51712 8192 sectors, sector-size 512, rw, flush flush-cache
blktest: PASS verified 974 sectors in 4 runs' \
  build/blktest.elf --disk "$tmp/c.img" --cmdline 'seed=42 mode=verify'

check blktest-no-vbd 0 'blktest: FAIL no vbd (-2)' build/blktest.elf

check httpd-no-vif 0 'httpd: FAIL no network (-2)' build/httpd.elf

check httpd-suspend-cancelled 0 'httpd: address 10.0.0.5/8 gateway 10.0.0.1 mac 00:16:3e:00:00:05
httpd: listening on :80
httpd: suspend requested
httpd: resumed
httpd: poweroff requested' build/httpd.elf --vif mac=00:16:3e:00:00:05 \
  --at 2:control/shutdown=suspend --at 4:control/shutdown=poweroff

check httpd-resume-new-domain 0 'httpd: address 10.1.2.3/16 gateway 10.1.0.1 mac 00:16:3e:01:02:03
httpd: listening on :80
httpd: suspend requested
httpd: resumed
httpd: poweroff requested' build/httpd.elf \
  --vif mac=00:16:3e:01:02:03,ip=10.1.2.3,netmask=255.255.0.0,gateway=10.1.0.1 --resume-new \
  --at 2:control/shutdown=suspend --at 4:control/shutdown=poweroff

check kvstore-new-store 0 'kvstore: disk 51712 8192 sectors, sector-size 512, flush flush-cache
kvstore: new store, 2047 KiB per log area
kvstore: FAIL no network (-2)' build/kvstore.elf --disk "$tmp/kv.img,size=4"

check kvstore-reopen 0 'kvstore: disk 51712 8192 sectors, sector-size 512, flush flush-cache
kvstore: recovered 0 keys from 0 records (log 0 bytes, generation 2)
kvstore: FAIL no network (-2)' build/kvstore.elf --disk "$tmp/kv.img"

check kvstore-no-disk 0 'kvstore: FAIL no disk (-2)' build/kvstore.elf

check kvstore-read-only 0 'kvstore: disk 51712 8192 sectors, sector-size 512, flush flush-cache
kvstore: FAIL read-only disk' build/kvstore.elf --disk "$tmp/kv.img,ro"

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
