-- Source records kept out of the 360 view, by object, org and reason.
SELECT object, org, reason, count(*) AS records
FROM golden.rejected_record
GROUP BY 1, 2, 3
ORDER BY 1, 2, 4 DESC
