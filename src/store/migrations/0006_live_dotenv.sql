-- The `.env` values the live project last applied to its environment's variables. A variable
-- edited through the API (or the console) keeps its value until `.env` changes that key.
CREATE TABLE live_dotenv (
    environment_sid TEXT NOT NULL REFERENCES environments(sid) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    PRIMARY KEY (environment_sid, key)
);
