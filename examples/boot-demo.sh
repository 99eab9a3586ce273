#!/bin/sh
# Boot the default guest: the built-in guest kernel with its demo workload.
# It prints one RESULT line; vmm exits 0 when the guest reports success.
VMM=${VMM:-vmm}
exec "$VMM" run
