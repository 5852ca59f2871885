SELECT * FROM golden.account_summary WHERE golden_id = :id
