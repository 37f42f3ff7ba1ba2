DROP INDEX instance_configs_single_default;
DROP TABLE instance_configs;
