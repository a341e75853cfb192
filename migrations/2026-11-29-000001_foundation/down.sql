DROP TABLE policy_purposes;
DROP TABLE policy_versions;
DROP TABLE accounts;
