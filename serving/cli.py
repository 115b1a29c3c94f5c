def main():
    print('cli')
