# Networking: the default bridge (netavark), -p, user networks, host/none,
# the netavark-missing message, and nothing left behind afterwards.
nav_before=$(iptables-save | grep -c NETAVARK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }
ipof() { rdock inspect "$1" | jq -r '[.[0].NetworkSettings.Networks[].IPAddress][0]'; }
web='mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www'

out=$(rdock run --rm busybox ip -4 addr show eth0 2>&1)
check "the default network gives eth0 an address on the bridge" 'inet 10\.87\.0\.[0-9]+/24' "$out"
out=$(rdock run --rm busybox sh -c 'cat /etc/hosts; cat /etc/resolv.conf; ip route' 2>&1)
check "/etc/hosts names the container on its bridge address" "^10\.87\.0\.[0-9]+	[0-9a-f]{12}$" "$out"
if grep -q '^nameserver 127\.' <<<"$out"; then nok "resolv.conf has no loopback resolver" "$out"
else ok "resolv.conf has no loopback resolver"; fi
check "the default route goes through the gateway" '^default via 10\.87\.0\.1 ' "$out"

hp=$(free_port)
id=$(rdock run -d --name netweb -p "$hp:80" busybox sh -c "$web" 2>&1)
check_rc "run -d -p $hp:80 httpd" 0 $? "$id"
ip=$(ipof netweb)
check "inspect shows the address" '^10\.87\.0\.[0-9]+$' "$ip"
out=$(rdock inspect netweb | jq -c '.[0].NetworkSettings | [.Gateway, .Ports, (.Networks|keys)]')
check "inspect shows gateway, ports and network" "^\[\"10.87.0.1\",\{\"80/tcp\":\[\{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$hp\"\}\]\},\[\"bridge\"\]\]$" "$out"
sleep 0.5
out=$(rdock run --rm busybox wget -qO- "http://$ip/" 2>&1)
check "a container reaches another by address (wget)" '^hello-' "$out"
out=$(rdock run --rm busybox ping -c1 -W3 "$ip" 2>&1)
check "a container pings another" ' 0% packet loss' "$out"
out=$(curl -s -m5 "http://127.0.0.1:$hp/" 2>&1)
check "-p reaches the container from the host via 127.0.0.1:$hp" '^hello-' "$out"
out=$(curl -s -m5 "http://$ip:80/" 2>&1)
check "the host reaches the container on its bridge address" '^hello-' "$out"
out=$(curl -s -m5 "http://10.87.0.1:$hp/" 2>&1)
check "-p reaches the container via the bridge's gateway address" '^hello-' "$out"
out=$(rdock ps 2>&1)
check "ps shows the PORTS column" "0\.0\.0\.0:$hp->80/tcp +netweb" "$out"
out=$(rdock port netweb 2>&1)
check "port lists the mapping" "^80/tcp -> 0\.0\.0\.0:$hp$" "$out"
out=$(rdock port netweb 80 2>&1)
check "port PRIVATE gives the host side" "^0\.0\.0\.0:$hp$" "$out"

# A host port already taken: by another container, by a host process.
n_before=$(rdock ps -a -q | wc -l)
out=$(rdock run --rm -p "$hp:80" busybox true 2>&1)
rc=$?
check_rc "a port published by another container is refused" 125 $rc "$out"
check "... with docker's message" "Bind for 0\.0\.0\.0:$hp failed: port is already allocated" "$out"
out=$(rdock run -d -p "127.0.0.1:${RDOCK_INSECURE_REGISTRY##*:}:80" busybox true 2>&1)
check_rc "a port a host process listens on is refused" 125 $? "$out"
n_after=$(rdock ps -a -q | wc -l)
check "nothing is left behind by a refused run" "^$n_before $(ls "$RDOCK_ROOT/netns" | wc -l)$" "$n_after $(rdock ps -a -q | wc -l)"

# stop tears the network down; start sets it up again with the same address.
rdock stop -t 1 netweb >/dev/null 2>&1
out=$(ip -o link show master rdock0 2>&1; iptables-save -t nat | grep -c "dport $hp ")
check "stop removes the veth and the DNAT rule" '^0$' "$out"
rdock start netweb >/dev/null 2>&1
sleep 0.5
check "start gives the same address back" "^$ip$" "$(ipof netweb)"
out=$(curl -s -m5 "http://127.0.0.1:$hp/" 2>&1)
check "-p works again after start" '^hello-' "$out"

# -p CTR: a random host port.
rid=$(rdock run -d -p 80 busybox sh -c "$web" 2>&1)
rp=$(rdock port "$rid" 80 2>&1)
check "-p 80 publishes on a random host port" '^0\.0\.0\.0:[0-9]+$' "$rp"
sleep 0.5
out=$(curl -s -m5 "http://127.0.0.1:${rp##*:}/" 2>&1)
check "... which reaches the container" '^hello-' "$out"
rdock rm -f "$rid" netweb >/dev/null 2>&1

# User networks.
nid=$(rdock network create rdtestnet 2>&1)
check "network create prints the id" '^[0-9a-f]{64}$' "$nid"
out=$(rdock network ls 2>&1)
check "network ls lists it" "^${nid:0:12} +rdtestnet +bridge +local$" "$out"
check "network ls lists bridge, host, none and it, by name" '^bridge host none rdtestnet $' "$(grep -E ' (bridge|host|none) ' <<<"$out" | awk '{print $2}' | tr '\n' ' ')"
sub=$(rdock network inspect rdtestnet | jq -r '.[0].IPAM.Config[0].Subnet')
check "a user network gets its own subnet" '^10\.87\.[1-9][0-9]*\.0/24$' "$sub"
out=$(rdock network create rdtestnet 2>&1)
check "a network name is unique" 'already exists' "$out"
rdock run -d --name netuser1 --network rdtestnet busybox sh -c "$web" >/dev/null 2>&1
uip=$(ipof netuser1)
check "a container on the user network gets an address in its subnet" "^${sub%.0/24}\.[0-9]+$" "$uip"
sleep 0.5
out=$(rdock run --rm --network rdtestnet busybox wget -qO- "http://$uip/" 2>&1)
check "containers on a user network reach each other" '^hello-' "$out"
out=$(rdock run --rm --network rdtestnet busybox nslookup netuser1 2>&1)
check "containers on a user network resolve each other's names (aardvark-dns)" "Address:? +$uip" "$out"
out=$(rdock network inspect rdtestnet | jq -r '.[0].Containers[].Name')
check "network inspect lists the containers" '^netuser1$' "$out"
out=$(rdock network rm rdtestnet 2>&1)
check "network rm refuses a network in use" 'has active endpoints' "$out"
rdock rm -f netuser1 >/dev/null 2>&1
out=$(rdock network rm rdtestnet 2>&1)
check "network rm removes it" '^rdtestnet$' "$out"
out=$(rdock network rm bridge 2>&1)
check "the default bridge cannot be removed" 'pre-defined network' "$out"
rdock network create --subnet 192.168.213.0/24 --gateway 192.168.213.254 rdtestnet2 >/dev/null 2>&1
out=$(rdock run --rm --network rdtestnet2 busybox ip -4 route 2>&1)
check "network create --subnet --gateway" 'default via 192\.168\.213\.254 .*192\.168\.213\.0/24 dev eth0 .*src 192\.168\.213\.1' "$(tr '\n' ' ' <<<"$out")"
rdock network rm rdtestnet2 >/dev/null 2>&1
out=$(rdock run --rm --network nosuchnet busybox true 2>&1)
check_rc "an unknown network is refused" 125 $? "$out"

# An address reused at once keeps its MAC (docker's 02:42 + the address),
# so peers reach the new container; names resolve from the first instant
# (rdock waits for aardvark-dns); network rm right after rm -f.
rdock network create rdtestnet3 >/dev/null 2>&1
rdock run -d --name netpeer --network rdtestnet3 busybox sh -c "$web" >/dev/null 2>&1
pip=$(ipof netpeer)
id1=$(rdock run -d --network rdtestnet3 busybox sleep 100 2>&1)
ip1=$(ipof "$id1")
mac1=$(rdock exec "$id1" cat /sys/class/net/eth0/address 2>&1)
check "the MAC is derived from the address as docker's" "^02:42:$(printf '%02x:%02x:%02x:%02x' ${ip1//./ })$" "$mac1"
rdock exec netpeer ping -c1 -W2 "$ip1" >/dev/null 2>&1
rdock rm -f "$id1" >/dev/null 2>&1
out=$(rdock run --rm --network rdtestnet3 busybox sh -c "ip -4 -o addr show eth0; cat /sys/class/net/eth0/address; timeout 3 wget -qO- http://$pip/" 2>&1)
check "the next container gets the freed address" "inet $ip1/" "$out"
check "... and the same MAC" "^$mac1$" "$out"
check "... and reaches a peer that knew the old one at once" '^hello-' "$out"
dns_ok=0
for _ in 1 2 3; do
    rdock run --rm --network rdtestnet3 busybox nslookup netpeer 2>&1 | grep -Eq "Address:? +$pip" && dns_ok=$((dns_ok + 1))
done
check_rc "a name resolves from a container's first instant (3 of 3)" 3 "$dns_ok"
rdock rm -f netpeer >/dev/null 2>&1
out=$(rdock network rm rdtestnet3 2>&1)
check "network rm right after rm -f" '^rdtestnet3$' "$out"

# host and none.
out=$(rdock run --rm --network none busybox ip -o link 2>&1)
check "--network none has only lo" '^1: lo:' "$out"
[ "$(wc -l <<<"$out")" = 1 ] && ok "--network none has no other interface" || nok "--network none has no other interface" "$out"
out=$(rdock run --rm --network host busybox cat /sys/class/net/lo/ifindex /proc/net/dev 2>&1)
check "--network host sees the host's interfaces" "$(ip -o link | awk -F': ' 'NR==2{print $2}' | cut -d@ -f1):" "$out"

# Without netavark.
out=$(RDOCK_NETAVARK=/nonexistent rdock run --rm --network bridge busybox true 2>&1)
rc=$?
check_rc "--network bridge without netavark fails" 125 $rc "$out"
check "... saying how to install it or what else to use" 'apt-get install netavark.*--network none' "$out"
out=$(RDOCK_NETAVARK=/nonexistent rdock run --rm busybox ip -o link 2>&1)
check "without netavark the default is the host network" "$(ip -o link | awk -F': ' 'NR==2{print $2}' | cut -d@ -f1)" "$out"

# netavark's shared chains stay while another user of netavark (podman)
# has a network up: a stand-in network chain here.
iptables -t nat -N NETAVARK-RDTEST0000000
rdock run --rm busybox true >/dev/null 2>&1
out=$(iptables -t nat -S NETAVARK-HOSTPORT-DNAT 2>&1)
iptables -t nat -X NETAVARK-RDTEST0000000
check "the shared chains stay while another netavark network is up" '^-N NETAVARK-HOSTPORT-DNAT$' "$out"

# A container whose monitor died (a crash) is torn down by rm.
rdock run -d --name netcrash -p "$(free_port):80" busybox sleep 100 >/dev/null 2>&1
mon=$(jq -r .monitor_pid "$RDOCK_ROOT/containers/$(rdock inspect netcrash | jq -r '.[0].Id')/config.json")
kill -9 "$mon"
out=$(rdock rm -f netcrash 2>&1; ip -o link show master rdock0 2>&1)
check "rm tears down the network of a container whose monitor died" '^netcrash$' "$out"

# system prune removes user networks no container is on, keeps the others.
rdock network create prunable >/dev/null 2>&1
rdock network create busynet >/dev/null 2>&1
rdock run -d --name onbusynet --network busynet busybox sleep 100 >/dev/null 2>&1
out=$(rdock system prune -f 2>&1; rdock network ls 2>&1)
check "system prune removes an unused user network" '^Deleted Networks:$' "$out"
if grep -q ' prunable ' <<<"$out" || ! grep -q ' busynet ' <<<"$out"; then
    nok "system prune keeps networks in use, removes the others" "$out"
else ok "system prune keeps networks in use, removes the others"; fi
rdock rm -f onbusynet >/dev/null 2>&1
rdock network rm busynet >/dev/null 2>&1

# rm -f of a running bridge container; then nothing may be left.
rdock run -d --name netgone -p "$(free_port):80" busybox sleep 100 >/dev/null 2>&1
rdock rm -f netgone >/dev/null 2>&1
out="$(iptables-save | grep -c NETAVARK) $(ip -o link | grep -c ': rdock') $(ls "$RDOCK_ROOT/netns" 2>/dev/null | wc -l) $(grep -c "$RDOCK_ROOT/netns" /proc/self/mounts)"
check "nothing left: netavark rules ($nav_before before), bridges, netns files, mounts" "^$nav_before 0 0 0$" "$out"
