#!/bin/sh
# Run each of the guest kernel's workloads on 4 MiB of its memory. Every
# workload checks all it reads back; ok=1 means no byte was lost or wrong.
set -e
VMM=${VMM:-vmm}
for w in touch random hotset phases verify churn; do
	"$VMM" run --mem 64M --cmdline "workload=$w size=4M seed=42 passes=2 hot=20"
done
