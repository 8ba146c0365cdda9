"""`python -m backend.worker`: the Redis worker's command (its code is `backend.runs.redis.worker`)."""

from backend.runs.redis.worker import main

if __name__ == "__main__":
    main()
