import sys; sys.path.insert(0,'/tmp/audit')
from cases_r3 import R3, R2
from runlib import run
print(run('r3',R3+R2[-4:],[]))
