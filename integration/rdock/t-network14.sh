# Networking flags of issue 14: -P/--expose (and the image's ExposedPorts),
# --ip/--ip6/--network-alias, one --network at create, network connect,
# disconnect and prune, IPv6 user networks. Each case runs real containers.
web='mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www'
# The address of container $1 on network $2 (inspect's Networks entry).
ipon() { rdock inspect "$1" | jq -r --arg n "$2" '.[0].NetworkSettings.Networks[$n].IPAddress'; }
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range

# --- -P / --expose ---------------------------------------------------------
rdock run -d --name puball -P --expose 80 --expose 7001/udp -p 7002 busybox sh -c "$web" >/dev/null 2>&1
out=$(rdock port puball 2>&1)
check "-P publishes each exposed port (port lists tcp, udp and -p's)" \
    '^7001/udp -> 0\.0\.0\.0:[0-9]+ 7002/tcp -> 0\.0\.0\.0:[0-9]+ 80/tcp -> 0\.0\.0\.0:[0-9]+ $' "$(sort <<<"$out" | tr '\n' ' ')"
hp=$(rdock port puball 80 2>&1); hp=${hp##*:}
if [ "$hp" -ge "$eph_lo" ] && [ "$hp" -le "$eph_hi" ]; then ok "-P's host port is in the kernel's ephemeral range ($hp)"
else nok "-P's host port is in the kernel's ephemeral range ($eph_lo-$eph_hi)" "$hp"; fi
sleep 0.3
out=$(curl -s -m5 "http://127.0.0.1:$hp/" 2>&1)
check "-P's port reaches the container on 127.0.0.1" '^hello-' "$out"
out=$(rdock ps --filter name=puball 2>&1)
check "ps PORTS shows -P's mappings" "0\.0\.0\.0:$hp->80/tcp" "$out"
out=$(rdock inspect puball | jq -c '.[0] | [.HostConfig.PublishAllPorts, .Config.ExposedPorts]')
check "inspect: PublishAllPorts and ExposedPorts (with -p's port)" \
    '^\[true,\{"7001/udp":\{\},"7002/tcp":\{\},"80/tcp":\{\}\}\]$' "$out"
# docker's allocator gives the next port after the last one given.
rdock run -d --name pubnext -P --expose 80 busybox sleep 100 >/dev/null 2>&1
hp2=$(rdock port pubnext 80 2>&1); hp2=${hp2##*:}
if [ "$hp2" -gt "$hp" ] || [ "$hp2" -le "$((eph_lo + 10))" ]; then ok "the next random port follows the last one given ($hp -> $hp2)"
else nok "the next random port follows the last one given" "$hp -> $hp2"; fi
rdock rm -f pubnext >/dev/null 2>&1

# --expose without -P: exposed, not published (ps shows 80/tcp, port nothing).
rdock run -d --name exponly --expose 80 busybox sleep 100 >/dev/null 2>&1
out=$(rdock ps --filter name=exponly --format '{{.Ports}}' 2>/dev/null || rdock ps --filter name=exponly 2>&1)
check "ps shows an exposed, unpublished port as 80/tcp" '(^| )80/tcp( |$)' "$out"
out=$(rdock port exponly 2>&1)
check "port lists nothing for an exposed port" '^$' "$out"
out=$(rdock port exponly 80 2>&1)
check "port PORT: docker's message" "^Error: No public port '80/tcp' published for exponly$|No public port '80/tcp' published for exponly" "$out"
out=$(rdock inspect exponly | jq -c '.[0].NetworkSettings.Ports')
check "inspect: an exposed port unpublished is null in Ports" '^\{"80/tcp":null\}$' "$out"
rdock rm -f exponly puball >/dev/null 2>&1

# The image's ExposedPorts: an image made here from busybox with 80/tcp exposed.
img=$work/exposed
mkdir -p "$img" && rdock save -o "$work/bb.tar" busybox >/dev/null 2>&1 && tar -C "$img" -xf "$work/bb.tar"
cfg=$(jq -r '.[0].Config' "$img/manifest.json")
jq -c '.config.ExposedPorts = {"80/tcp": {}}' "$img/$cfg" >"$img/new.json"
new=$(sha256sum "$img/new.json" | cut -d' ' -f1)
mv "$img/new.json" "$img/$new.json" && rm -f "$img/$cfg"
jq -c --arg c "$new.json" '.[0].Config = $c | .[0].RepoTags = ["exposed:latest"]' "$img/manifest.json" >"$img/m" && mv "$img/m" "$img/manifest.json"
rm -f "$img/repositories"
(cd "$img" && tar -cf "$work/exposed.tar" .)
rdock load -i "$work/exposed.tar" >/dev/null 2>&1
rdock run -d --name imgexp -P exposed sh -c "$web" >/dev/null 2>&1
out=$(rdock port imgexp 2>&1)
check "-P publishes the image's ExposedPorts" '^80/tcp -> 0\.0\.0\.0:[0-9]+$' "$out"
sleep 0.3
out=$(curl -s -m5 "http://127.0.0.1:${out##*:}/" 2>&1)
check "... reachable on 127.0.0.1" '^hello-' "$out"
rdock rm -f imgexp >/dev/null 2>&1
rdock rmi exposed >/dev/null 2>&1

out=$(rdock run --rm --expose abc busybox true 2>&1)
rc=$?
check_rc "--expose abc is refused" 125 $rc "$out"
check "... with docker's message" '^rdock: invalid range format for --expose: abc, error: strconv\.ParseUint: parsing "abc": invalid syntax\.$' "$out"
out=$(rdock run --rm --network none -P --expose 80-81/udp busybox true 2>&1)
check_rc "--network none -P --expose 80-81/udp is accepted (nothing published)" 0 $? "$out"

# --- --ip, --ip6, --network-alias, several --network ------------------------
rdock network create --subnet 10.87.201.0/24 n14a >/dev/null 2>&1
rdock network create n14auto >/dev/null 2>&1
rdock run -d --name ipfix --network n14a --ip 10.87.201.50 --network-alias webalias busybox sh -c "$web" >/dev/null 2>&1
out=$(rdock exec ipfix ip -4 -o addr show eth0 2>&1)
check "--ip gives the container that address" 'inet 10\.87\.201\.50/24' "$out"
out=$(rdock inspect ipfix | jq -c '.[0].NetworkSettings.Networks.n14a | [.IPAddress, .IPAMConfig, .Aliases[0], (.Aliases|length)]')
check "inspect: IPAddress, IPAMConfig, Aliases (alias, short id)" '^\["10\.87\.201\.50",\{"IPv4Address":"10\.87\.201\.50"\},"webalias",2\]$' "$out"
out=$(rdock inspect ipfix | jq -r '.[0].NetworkSettings.IPAddress')
check "inspect: no top-level IPAddress on a user network (docker's)" '^$' "$out"
out=$(rdock run --rm --network n14a busybox sh -c 'nslookup webalias; wget -qO- http://webalias/' 2>&1)
check "--network-alias resolves from another container (aardvark-dns)" 'Address:? +10\.87\.201\.50' "$out"
check "... and reaches it" '^hello-' "$out"
out=$(rdock run --rm --network n14a --ip 10.87.201.50 busybox true 2>&1)
check "--ip in use: docker's message" '^rdock: Error response from daemon: Address already in use\.$' "$(head -1 <<<"$out")"
out=$(rdock run --rm --network n14a --ip 10.9.9.9 busybox true 2>&1)
check "--ip outside the subnet: docker's message" "Invalid address 10\.9\.9\.9: It does not belong to any of this network's subnets" "$out"
out=$(rdock run --rm --ip 10.87.0.77 busybox true 2>&1)
rc=$?
check "--ip on the default bridge: docker's message" 'user specified IP address is supported on user defined networks only' "$out"
check_rc "... exit 125" 125 $rc "$out"
out=$(rdock run --rm --network n14auto --ip 10.87.5.5 busybox true 2>&1)
check "--ip on a network without a configured subnet: docker's message" 'user specified IP address is supported only when connecting to networks with user configured subnets' "$out"
out=$(rdock run --rm --network n14a --ip bad busybox true 2>&1)
check "--ip bad: docker's message" 'invalid IPv4 address: bad' "$out"
out=$(rdock run --rm --network none --network-alias x busybox true 2>&1)
check "--network-alias on none: docker's client message" "^rdock: network-scoped aliases are only supported for user-defined networks\.$" "$(head -1 <<<"$out")"
out=$(rdock run --rm --network-alias x busybox true 2>&1)
check "--network-alias on the default bridge: docker's daemon message" 'network-scoped alias is supported only for containers in user defined networks' "$out"
n_before=$(rdock ps -a -q | wc -l)
out=$(rdock run --rm --network n14a --network n14auto busybox true 2>&1)
rc=$?
check "two --network at run: docker 20.10's refusal" '^rdock: Error response from daemon: Container cannot be connected to network endpoints: n14a, n14auto\.$' "$(head -1 <<<"$out")"
check_rc "... exit 125" 125 $rc "$out"
out=$(rdock create --network n14a --network n14auto busybox true 2>&1)
check_rc "two --network at create: exit 1 (docker's create)" 1 $? "$out"
out=$(rdock run --rm --network n14a --network n14a busybox true 2>&1)
check "the same --network twice: docker's client message" '^rdock: network "n14a" is specified multiple times\.$' "$(head -1 <<<"$out")"
check "nothing is left behind by refused runs" "^$n_before$" "$(rdock ps -a -q | wc -l)"

# --- network connect / disconnect on a running container -------------------
rdock run -d --name conn1 --network n14a busybox sleep 300 >/dev/null 2>&1
rdock run -d --name peer2 --network n14auto busybox sh -c "$web" >/dev/null 2>&1
out=$(rdock network connect --alias conalias n14auto conn1 2>&1)
check_rc "network connect on a running container" 0 $? "$out"
out=$(rdock exec conn1 ip -o -4 addr 2>&1)
check "the new interface appears inside (eth1 on the second network)" 'eth1 +inet 10\.87\.[0-9]+\.[0-9]+/24' "$out"
p2ip=$(ipon peer2 n14auto)
out=$(rdock exec conn1 timeout 5 wget -qO- "http://$p2ip/" 2>&1)
check "... the container reaches a peer on the new network" '^hello-' "$out"
gw2=$(rdock network inspect n14auto | jq -r '.[0].IPAM.Config[0].Gateway')
out=$(rdock exec conn1 nslookup peer2 "$gw2" 2>&1)
check "... and resolves its name through the new network's name server" "Address:? +$p2ip" "$out"
c1ip=$(ipon conn1 n14auto)
out=$(rdock exec peer2 nslookup conalias 2>&1)
check "... a peer resolves its alias on the new network (DNS updated)" "Address:? +$c1ip" "$out"
out=$(rdock inspect conn1 | jq -c '.[0].NetworkSettings.Networks | keys')
check "inspect lists both networks" '^\["n14a","n14auto"\]$' "$out"
out=$(rdock network inspect n14auto | jq -r '.[0].Containers[].Name' | sort | tr '\n' ' ')
check "network inspect lists the connected container" '^conn1 peer2 $' "$out"
out=$(rdock network connect n14auto conn1 2>&1)
check "connecting twice: docker's message" 'endpoint with name conn1 already exists in network n14auto' "$out"
out=$(rdock network connect --ip 10.87.201.60 n14a peer2 2>&1; rdock exec peer2 ip -4 -o addr show eth1 2>&1)
check "network connect --ip" 'inet 10\.87\.201\.60/24' "$out"
out=$(rdock network disconnect n14auto conn1 2>&1)
check_rc "network disconnect" 0 $? "$out"
out=$(rdock exec conn1 ip -o link 2>&1)
if grep -q eth1 <<<"$out"; then nok "the interface is gone inside" "$out"; else ok "the interface is gone inside"; fi
out=$(rdock exec peer2 nslookup conalias 2>&1)
if grep -q "$c1ip" <<<"$out"; then nok "the alias no longer resolves (DNS updated)" "$out"; else ok "the alias no longer resolves (DNS updated)"; fi
out=$(rdock network disconnect n14auto conn1 2>&1)
check "disconnecting twice: docker's message" "^Error response from daemon: container [0-9a-f]{64} is not connected to network n14auto$" "$out"
out=$(rdock network connect n14auto nosuchctr 2>&1)
check "connect to a missing container" 'No such container: nosuchctr' "$out"
out=$(rdock network connect nosuchnet conn1 2>&1)
check_rc "connect to a missing network exits 1" 1 $? "$out"
check "... docker's message" 'network nosuchnet not found' "$out"
out=$(rdock network connect host conn1 2>&1)
check "connect to host: docker's message" 'container cannot be disconnected from host network or connected to host network' "$out"
rdock run -d --name onnone --network none busybox sleep 100 >/dev/null 2>&1
out=$(rdock network connect n14a onnone 2>&1)
check "connect a container on none: docker's message" 'one of the networks in private \(none\) mode' "$out"
# A stopped container: connected at its next start.
rdock create --name later --network n14a busybox sh -c 'ip -o -4 addr; sleep 1' >/dev/null 2>&1
rdock network connect n14auto later >/dev/null 2>&1
out=$(rdock start -a later 2>&1)
check "a created container connected later gets both networks at start" 'eth0 +inet 10\.87\.201\..* eth1 +inet 10\.87\.' "$(tr '\n' ' ' <<<"$out")"
rdock rm -f conn1 peer2 onnone later >/dev/null 2>&1

# --- network prune -----------------------------------------------------------
rdock run -d --name keepnet --network n14a busybox sleep 100 >/dev/null 2>&1
out=$(echo n | rdock network prune 2>&1)
check "network prune asks first (docker's prompt); n keeps all" '^WARNING! This will remove all custom networks not used by at least one container\.$' "$out"
check "... nothing removed" ' n14auto ' "$(rdock network ls 2>&1 | tr '\n' ' ')"
out=$(rdock network prune -f 2>&1)
check "network prune -f: Deleted Networks and the unused one" '^Deleted Networks: n14auto $' "$(tr '\n' ' ' <<<"$out")"
out=$(rdock network ls --quiet 2>&1 | wc -l; rdock network ls 2>&1)
check "... the network in use stays" ' n14a ' "$(tr '\n' ' ' <<<"$out")"
out=$(rdock network prune -f 2>&1)
check "network prune -f with nothing to remove prints nothing" '^$' "$out"
out=$(rdock network prune x 2>&1)
check_rc "network prune takes no argument" 1 $? "$out"
rdock rm -f keepnet ipfix >/dev/null 2>&1
rdock network rm n14a >/dev/null 2>&1

# --- IPv6 user networks ------------------------------------------------------
out=$(rdock network create --ipv6 n14nov6 2>&1)
check "--ipv6 without an IPv6 subnet: docker's message" 'could not find an available, non-overlapping IPv6 address pool' "$out"
rdock network create --ipv6 --subnet fd00:87:14::/64 n14v6 >/dev/null 2>&1
out=$(rdock network inspect n14v6 | jq -c '.[0] | [.EnableIPv6, [.IPAM.Config[].Subnet]]')
check "network inspect: EnableIPv6 and both subnets" '^\[true,\["10\.87\.[0-9]+\.0/24","fd00:87:14::/64"\]\]$' "$out"
rdock run -d --name v6web --network n14v6 busybox sh -c "$web" >/dev/null 2>&1
out=$(rdock exec v6web ip -6 -o addr show eth0 scope global 2>&1)
check "the container gets an IPv6 address" 'inet6 fd00:87:14::2/64' "$out"
out=$(rdock inspect v6web | jq -c '.[0].NetworkSettings.Networks.n14v6 | [.GlobalIPv6Address, .GlobalIPv6PrefixLen, .IPv6Gateway]')
check "inspect: GlobalIPv6Address, prefix, IPv6Gateway" '^\["fd00:87:14::2",64,"fd00:87:14::1"\]$' "$out"
sleep 0.3
# (busybox's wget crashes with -T: timeout(1) bounds it.)
out=$(rdock run --rm --network n14v6 busybox sh -c 'ping6 -c1 -W3 fd00:87:14::2; timeout 5 wget -qO- "http://[fd00:87:14::2]/"; nslookup -type=AAAA v6web' 2>&1)
check "ping6 between containers over the bridge" ' 0% packet loss' "$out"
check "wget over IPv6 between containers" '^hello-' "$out"
check "aardvark-dns answers the container's IPv6 address" 'Address:? +fd00:87:14::2' "$out"
out=$(curl -s -m5 "http://[fd00:87:14::2]/" 2>&1)
check "the host reaches the container over IPv6" '^hello-' "$out"
out=$(rdock run --rm --network n14v6 --ip6 fd00:87:14::99 busybox ip -6 -o addr show eth0 scope global 2>&1)
check "--ip6 on an IPv6 network" 'inet6 fd00:87:14::99/64' "$out"
out=$(rdock run --rm --network n14v6 --ip6 fd00:99::1 busybox true 2>&1)
check "--ip6 outside the subnet: docker's message" "Invalid address fd00:99::1: It does not belong to any of this network's subnets" "$out"
out=$(rdock run --rm --network n14v6 --ip6 10.0.0.1 busybox true 2>&1)
check "--ip6 with an IPv4 address: docker's message" 'invalid IPv6 address: 10\.0\.0\.1' "$out"
rdock rm -f v6web >/dev/null 2>&1
rdock network rm n14v6 >/dev/null 2>&1

# Nothing may be left: rules for rdock's subnets (counted by subnet, not in
# total: podman's suite may run beside this one), bridges, namespaces.
out="$(iptables-save | grep -c '10\.87\.') $(ip6tables-save 2>/dev/null | grep -c 'fd00:87:14') $(ip -o link | grep -c ': rdock') $(ls "$RDOCK_ROOT/netns" 2>/dev/null | wc -l) $(grep -c "$RDOCK_ROOT/netns" /proc/self/mounts)"
check "nothing left: IPv4 and IPv6 rules, bridges, netns files, mounts" "^0 0 0 0 0$" "$out"
