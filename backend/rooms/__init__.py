"""Live classroom rooms: a teacher's page drives, every student's page follows, polls are voted.

`codes` makes room codes and teacher keys; `room` is one room's state and its rules (who may
drive, how votes count); `messages` is what travels on the room's websocket; `feed` is a room's
event log in one process, which every connection of that process reads at its own pace;
`hub` is the embedded fan-out (one process) and `redis` the fan-out across API replicas.
"""
