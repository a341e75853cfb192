-- Accounts: the minimum the foundation needs (identity and role). The accounts domain extends this table.
CREATE TABLE accounts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username    TEXT NOT NULL CHECK (char_length(username) BETWEEN 2 AND 32),
    role        TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'staff', 'admin')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_username_lower ON accounts (lower(username));

-- Policy versions: the published privacy policy and its catalogue of purposes. Append-only.
CREATE TABLE policy_versions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version      TEXT NOT NULL UNIQUE CHECK (char_length(version) BETWEEN 1 AND 32),
    body         TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_by BIGINT REFERENCES accounts (id)
);

CREATE TABLE policy_purposes (
    policy_version_id BIGINT NOT NULL REFERENCES policy_versions (id),
    key               TEXT NOT NULL CHECK (key ~ '^[a-z][a-z0-9-]{1,47}$'),
    position          INT NOT NULL,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    required          BOOLEAN NOT NULL,
    data_categories   TEXT[] NOT NULL DEFAULT '{}',
    recipients        TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (policy_version_id, key)
);

-- The first policy version: the catalogue of purposes, described in Portico's own words.
WITH v AS (
    INSERT INTO policy_versions (version, body, published_at)
    VALUES ('1',
'Portico keeps the personal information needed to run a creative community: an account (phone number, password, username, gender, occupation, city), an optional public profile, and what members publish. Each purpose below says what it covers and whether the service cannot work without it. Optional purposes start off and can be granted or withdrawn at any time; withdrawing takes effect at once. Members can see everything held about them, export it, correct or delete it, and cancel their account. Personal data is encrypted at rest, staff access to it is audited, and members are told by notification and announcement when a security incident affects them.',
            '2026-11-29T00:00:00Z')
    RETURNING id
)
INSERT INTO policy_purposes (policy_version_id, key, position, title, description, required, data_categories, recipients)
SELECT v.id, p.key, p.position, p.title, p.description, p.required, p.data_categories, p.recipients
FROM v, (VALUES
  ('account', 1, 'Your account', 'Creating and signing in to your account: your phone number, password, username, gender, occupation and city.', true, ARRAY['phone','password','username','gender','occupation','city'], ARRAY[]::text[]),
  ('security', 2, 'Security and support', 'Verifying who you are, answering support requests, protecting accounts and keeping backups.', true, ARRAY['phone','device','log'], ARRAY[]::text[]),
  ('profile', 3, 'Public profile', 'Showing the optional profile fields you fill in (avatar, hometown, signature, bio, education, contact, link, equipment, labels) to other people.', false, ARRAY['profile'], ARRAY[]::text[]),
  ('city-service', 4, 'Services for your city', 'Tailoring what you see to the city you live in.', false, ARRAY['city'], ARRAY[]::text[]),
  ('email-login', 5, 'Email sign-in', 'Binding an email address to your account and signing in with it.', false, ARRAY['email'], ARRAY[]::text[]),
  ('third-party-profile', 6, 'Profile from WeChat, Weibo or QQ', 'Reading your nickname, avatar and gender from a WeChat, Weibo or QQ account you sign in with.', false, ARRAY['third-party-profile'], ARRAY['wechat','weibo','qq']),
  ('preferences-cookies', 7, 'Preference cookies', 'Cookies that remember your settings and preferences.', false, ARRAY['cookie'], ARRAY[]::text[]),
  ('analytics', 8, 'Page view counting', 'Counting page views and clicks with web beacons; the counts keep no identity.', false, ARRAY['usage'], ARRAY[]::text[]),
  ('statistics', 9, 'De-identified statistics', 'Statistics and research on de-identified data that cannot point back to you.', false, ARRAY['usage','city','occupation'], ARRAY[]::text[]),
  ('affiliates', 10, 'Affiliated companies', 'Sharing with our affiliated companies, only for the purposes stated here.', false, ARRAY['account','profile'], ARRAY['affiliates']),
  ('partner-advertising', 11, 'Advertising reach', 'Telling advertisers how far and how well their advertising reached, in aggregate only, never who you are.', false, ARRAY['aggregate'], ARRAY['advertising']),
  ('partner-business', 12, 'A named business partner', 'Sharing with one named business partner for one service you ask for; given per partner.', false, ARRAY['account','profile'], ARRAY['business']),
  ('partner-payment', 13, 'Payments', 'Sending an order number and amount to a payment provider when you pay.', false, ARRAY['order'], ARRAY['payment']),
  ('partner-analytics', 14, 'Analytics provider', 'Sending device and log information to an analytics provider.', false, ARRAY['device','log'], ARRAY['analytics'])
) AS p(key, position, title, description, required, data_categories, recipients);
