# The transport's handshake, sent on a new control endpoint before any other message.
# Field ordinals never change; add fields at the end. The protocol version is the one in
# protocol/messages.hpp (troupe::wire::protocol_version), passed in transport_options.
@0xb518f743d0876e6e;

$import "/capnp/c++.capnp".namespace("troupe::transport_schema");

# connect() -> acceptor.
struct Hello {
  protocolVersion @0 :UInt32;
  processName @1 :Text;
  workerAddress @2 :Data;   # packed UCX worker address (ucp_worker_get_address) for the bulk endpoint
}

# acceptor -> connect(). When `accepted` is false, `reason` says why and both sides close.
struct HelloReply {
  accepted @0 :Bool;
  protocolVersion @1 :UInt32;
  processName @2 :Text;
  workerAddress @3 :Data;
  reason @4 :Text;
}

struct Handshake {
  union {
    hello @0 :Hello;
    reply @1 :HelloReply;
  }
}
