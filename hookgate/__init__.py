"""hookgate's floor: what the gateway and the consumers both speak, and nothing else.

- `envelope`: the `hookgate-*` AMQP headers (names, encode, decode, timestamps);
- `routing`: the routing key `{source}.{type}`; `topology`: every exchange, queue and argument;
- `settings`: the `[broker]` table and the TOML helpers; `secret`: `Secret`;
- `message_auth`: the message signature between gateway and consumers;
- `observe`: outcome enums and the observers that hear each outcome once;
- `registry`, `sqlite`, `turns`, `redis_client`, `redis_url`: what every store shares
  (backends by name, the one SQLite setup and store thread, the Redis client);
- `errors`, `logs`, `datafiles`, `terminal`: the root error, JSON logging, private data
  files, terminal-safe text;
- `sqlite`, `redis_client`, `redis_url`, `turns`: what the stores share (the one SQLite setup
  and store thread, the Redis client and URL check, calls grouped in turns);
- `cli`: the `hookgate` command's root, which composes the commands each package registers.

It imports nothing from `providers`, `gateway` or `consumers`; they import it
(tests/unit/test_layers.py pins that).
"""
